package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// secretFrom reads a secret from the file a flag names, else from the environment variable
// env, else from the file env_FILE names. Secrets never come from flag values: those show
// in the process list. A file named by env_FILE that does not exist leaves the secret unset
// (a Kubernetes Secret mounts only the keys it has); a file named by a flag must exist.
func secretFrom(file, env string) (string, error) {
	optional := false
	if file == "" {
		if v := os.Getenv(env); v != "" {
			return v, nil
		}
		file, optional = os.Getenv(env+"_FILE"), true
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the secret for %s: %w", env, err)
	}
	return strings.TrimSpace(string(b)), nil
}
