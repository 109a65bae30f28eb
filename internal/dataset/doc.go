// Package dataset reads tabular data (CSV, optionally gzip, and Parquet) into typed,
// columnar tables: float64 for numeric columns, dictionary-encoded strings for the rest.
//
// Read picks the format from the file's content (Parquet and gzip magic bytes) and
// then its extension. ReadPair reads a reference and a current file and makes them
// comparable column by column, which is what the drift engine needs.
//
// Missing cells follow pandas' defaults: in CSV an empty cell or one of pandas'
// default na_values ("NaN", "NA", "null", "#N/A", ...) is missing; in Parquet a null
// is missing. Missing numbers are NaN, missing strings have code -1.
//
// Every error caused by the content of a file (rather than by the machine) is a
// *DataError naming the file and, where they apply, the line or row and the column;
// it wraps ErrInvalid so that commands can exit with status 2 for bad input.
package dataset
