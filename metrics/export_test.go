package metrics

// MetricsMedianForTest exposes median to the external reference tests.
var MetricsMedianForTest = median
