package mlflow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/medimind/modelops/internal/secret"
)

// Secret is a token or a password; it never prints its value (see internal/secret).
type Secret = secret.Secret

// The environment MLflow's own clients read, and ConfigFromEnv with them. Each secret may
// instead be in the file its _FILE variable names (a mounted Kubernetes Secret).
const (
	EnvTrackingURI      = "MLFLOW_TRACKING_URI"
	EnvTrackingToken    = "MLFLOW_TRACKING_TOKEN"
	EnvTrackingUsername = "MLFLOW_TRACKING_USERNAME"
	EnvTrackingPassword = "MLFLOW_TRACKING_PASSWORD"
	// A tracking URI "databricks" means the workspace at DATABRICKS_HOST with the personal
	// access token DATABRICKS_TOKEN, as MLflow's client reads them.
	EnvDatabricksHost  = "DATABRICKS_HOST"
	EnvDatabricksToken = "DATABRICKS_TOKEN"
)

// Config says where the registry is and how to authenticate.
type Config struct {
	// TrackingURI is the server's base URL (https://mlflow.example), or "databricks".
	TrackingURI string
	// Token is sent as a Bearer token; else Username and Password as Basic credentials;
	// else nothing (a server without authentication).
	Token    Secret
	Username string
	Password Secret
}

// ConfigFromEnv reads the environment; trackingURI (from .modelops.yaml) wins over
// MLFLOW_TRACKING_URI when set. getenv is os.Getenv in production.
func ConfigFromEnv(trackingURI string, getenv func(string) string) (Config, error) {
	if trackingURI == "" {
		trackingURI = getenv(EnvTrackingURI)
	}
	c := Config{TrackingURI: trackingURI}
	if trackingURI == "databricks" {
		c.TrackingURI = getenv(EnvDatabricksHost)
		if c.TrackingURI == "" {
			return Config{}, errors.New("mlflow tracking URI is databricks but " + EnvDatabricksHost + " is not set")
		}
		if !strings.Contains(c.TrackingURI, "://") {
			c.TrackingURI = "https://" + c.TrackingURI
		}
		tok, err := secretFromEnv(EnvDatabricksToken, getenv)
		if err != nil {
			return Config{}, err
		}
		c.Token = tok
		return c, nil
	}
	var err error
	if c.Token, err = secretFromEnv(EnvTrackingToken, getenv); err != nil {
		return Config{}, err
	}
	user, err := secretFromEnv(EnvTrackingUsername, getenv)
	if err != nil {
		return Config{}, err
	}
	c.Username = string(user)
	if c.Password, err = secretFromEnv(EnvTrackingPassword, getenv); err != nil {
		return Config{}, err
	}
	if (c.Username == "") != (c.Password == "") {
		return Config{}, errors.New("mlflow: set both " + EnvTrackingUsername + " and " + EnvTrackingPassword + " (or their _FILE forms), or neither")
	}
	return c, nil
}

// secretFromEnv reads env, else the file env_FILE names. A file named but absent leaves the
// secret unset, as a Kubernetes Secret mounts only the keys it has.
func secretFromEnv(env string, getenv func(string) string) (Secret, error) {
	if v := getenv(env); v != "" {
		return Secret(v), nil
	}
	file := getenv(env + "_FILE")
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the secret for %s: %w", env, err)
	}
	return Secret(strings.TrimSpace(string(b))), nil
}
