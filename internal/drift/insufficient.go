package drift

// insufficientWindow says which window of a timestamped log held fewer rows than its
// minRows (the verdict "insufficient data"), for the insufficient_data rule. Reports of
// two files have no windows.
func (r *Report) insufficientWindow() (window string, rows, minRows int, ok bool) {
	w := r.Windows
	switch {
	case w == nil || !w.InsufficientData:
		return "", 0, 0, false
	case int64(w.Current.Rows) < w.Current.MinRows:
		return "current", w.Current.Rows, int(w.Current.MinRows), true
	default:
		return "reference", w.Reference.Rows, int(w.Reference.MinRows), true
	}
}
