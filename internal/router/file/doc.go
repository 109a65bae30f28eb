// Package file is the embedded default traffic router of modelops: it writes the traffic
// split of each model to a JSON file that a local serving process reads.
//
// The file of model m is <dir>/m.json:
//
//	{
//	  "production": {"version": "12", "uri": "models:/sepsis-risk/12", "weight": 90},
//	  "canary": {"version": "13", "uri": "models:/sepsis-risk/13", "weight": 10}
//	}
//
// canary is absent when no canary runs, and the weights sum to 100. A file is replaced
// atomically (a temporary file in the same directory is written, synced and renamed over
// it, then the directory is synced), so a reader sees the old split or the new one, never
// a partial file, and a crash leaves one of the two. Setting the split a file already
// holds does not touch it, so a server that watches the file's modification time is not
// woken for nothing.
package file
