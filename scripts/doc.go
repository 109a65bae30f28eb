// Package scripts holds the shell and Python scripts of the Makefile and CI (no Go code); its
// tests check the scripts.
package scripts
