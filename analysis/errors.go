package analysis

// An OptionError is a mistake in the options or inputs a caller gave (a
// sequence longer than the model's context, a head outside the model), as
// opposed to a failure to read or run a model. The sinkscope command reports
// it as a usage error.
type OptionError struct{ Err error }

func (e OptionError) Error() string { return e.Err.Error() }
func (e OptionError) Unwrap() error { return e.Err }
