// Package dataset reads tabular data (CSV, optionally gzip, and Parquet) into typed,
// columnar tables: float64 for numeric columns, dictionary-encoded strings for the rest.
//
// Read picks the format from the file's content (Parquet and gzip magic bytes) and
// then its extension. ReadPair reads a reference and a current file and makes them
// comparable column by column, which is what the drift engine needs.
//
// Missing cells are those SPEC names: in CSV an empty cell or NaN ("NaN", "nan"); in
// Parquet a null. Other placeholders ("NA", "null", "n/a") are text, so that in a numeric
// column they are invalid values (Options.Invalid) rather than silently missing. Missing
// numbers are NaN, missing strings have code -1.
//
// Every read is bounded by Options.Limits, whatever a file claims about itself, and stops
// when Options.Context is cancelled.
//
// Every error caused by the content of a file (rather than by the machine) is a
// *DataError naming the file and, where they apply, the line or row and the column;
// it wraps ErrInvalid so that commands can exit with status 2 for bad input.
package dataset
