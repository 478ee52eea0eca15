// Package figure draws the analysis results of package analysis as PNG
// figures: layer × head heatmaps (Heads), quantities over a training series
// (Series) and calibrated zeroing curves (Zeroing). The same inputs give the
// same bytes.
package figure
