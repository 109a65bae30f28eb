package policies

import "slices"

// logSource checks spec.data.source and the windows reference and current are with it.
func (v *validator) logSource(field string, d *DataSpec) {
	src := d.Source
	// The log is a file or a directory named as a data file is; window fields have no place
	// on it, and it has none.
	v.source(field+".source", &DataSource{Path: src.Path, URL: src.URL})
	switch {
	case src.Timestamp == "":
		v.add(field+".source.timestamp", "is required: the column holding each row's time")
	case slices.Contains(d.Categorical, src.Timestamp), slices.Contains(d.Numeric, src.Timestamp):
		v.add(field+".source.timestamp", "column %q is the timestamp, not a feature: it cannot be listed in categorical or numeric", src.Timestamp)
	}
	for _, w := range []struct {
		name string
		s    *DataSource
	}{{"reference", &d.Reference}, {"current", &d.Current}} {
		wf := field + "." + w.name
		if w.s.Path != "" || w.s.URL != "" {
			v.add(wf, "is a window of spec.data.source {last, ago, minRows}: path and url are not allowed with a source")
		}
		switch {
		case w.s.Last.Duration == 0:
			v.add(wf+".last", "is required with spec.data.source: the length of the window, such as 7d or 180d")
		case w.s.Last.Duration < 0:
			v.add(wf+".last", "must be a positive duration, got %s", w.s.Last)
		}
		if w.s.Ago.Duration < 0 {
			v.add(wf+".ago", "must not be negative, got %s", w.s.Ago)
		}
		if w.s.MinRows < 0 {
			v.add(wf+".minRows", "must be 1 or more, got %d", w.s.MinRows)
		}
	}
}
