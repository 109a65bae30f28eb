package drift

// insufficientWindow says which window of a timestamped log held fewer rows than its
// minRows (the verdict "insufficient data"), for the insufficient_data rule. Reports of
// two files have no windows.
func (r *Report) insufficientWindow() (window string, rows, minRows int, ok bool) {
	return "", 0, 0, false
}
