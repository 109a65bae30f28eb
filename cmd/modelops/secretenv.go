package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/medimind/modelops/internal/registry/mlflow"
)

// mlflowWebhookSecretEnv holds the secret MLflow's webhooks sign their deliveries with
// (/webhooks/mlflow); it is served only when set.
const mlflowWebhookSecretEnv = "MODELOPS_MLFLOW_WEBHOOK_SECRET"

// secretEnv names the environment variables that hold a credential itself (their _FILE
// forms hold only a path and stay where they are).
var secretEnv = []string{
	"MODELOPS_API_TOKEN",
	"MODELOPS_WEBHOOK_SECRET",
	mlflowWebhookSecretEnv,
	"MODELOPS_GIT_TOKEN",
	"MODELOPS_PROMETHEUS_TOKEN",
	kfpTokenEnv,
	"MODELOPS_NOTIFY_WEBHOOK_URL",
	"MODELOPS_SLACK_WEBHOOK_URL",
	"MODELOPS_SMTP_URL",
	"MODELOPS_SMTP_PASSWORD",
	// The GitHub forge's credentials, by name: the lite build leaves the forge out
	// (TestSecretEnvNamesTheGitHubCredentials keeps them equal).
	"MODELOPS_GITHUB_TOKEN",
	"GITHUB_TOKEN",
	"MODELOPS_GITHUB_PRIVATE_KEY",
	mlflow.EnvTrackingToken,
	mlflow.EnvTrackingPassword,
	mlflow.EnvDatabricksToken,
}

// secretsFDEnv names the descriptor on which a re-executed modelops reads the secrets its
// first incarnation took out of the environment.
const secretsFDEnv = "MODELOPS_SECRETS_FD"

// maxSecretsBytes keeps the handover within a pipe's buffer (64 KiB on Linux), so writing
// it before the exec cannot block.
const maxSecretsBytes = 60 << 10

// hideSecretEnv keeps credentials out of the process's initial environment block. Linux
// shows that block in /proc/<pid>/environ to every process of the same user for the
// process's whole life (a training job of the local runner included), and os.Unsetenv does
// not erase it. So when a credential came in a plain variable, modelops re-executes itself
// (same pid, same arguments) with an environment without it, handing the credentials over
// an inherited pipe; the new process reads them and puts them back with os.Setenv, which
// changes the Go runtime's copy of the environment only, never the block. The _FILE forms
// need none of this: a path is not a secret.
func hideSecretEnv() error {
	if fd := os.Getenv(secretsFDEnv); fd != "" {
		return restoreSecretEnv(fd)
	}
	secrets := map[string]string{}
	var keep []string
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if slices.Contains(secretEnv, name) {
			secrets[name] = value
			continue
		}
		keep = append(keep, kv)
	}
	if len(secrets) == 0 {
		return nil
	}
	b, err := json.Marshal(secrets)
	if err != nil {
		return err
	}
	if len(b) > maxSecretsBytes {
		return fmt.Errorf("the credentials in the environment take %d bytes, more than %d: pass them as files (the _FILE variables)", len(b), maxSecretsBytes)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("hide the credentials from the environment: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("hide the credentials from the environment: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("hide the credentials from the environment: %w", err)
	}
	_ = w.Close()
	// os.Pipe opens with close-on-exec; the read end must survive the exec.
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, r.Fd(), syscall.F_SETFD, 0); errno != 0 {
		return fmt.Errorf("hide the credentials from the environment: %w", errno)
	}
	keep = append(keep, secretsFDEnv+"="+strconv.FormatUint(uint64(r.Fd()), 10))
	err = syscall.Exec(exe, os.Args, keep)
	return fmt.Errorf("hide the credentials from the environment: re-execute %s: %w", exe, err)
}

// restoreSecretEnv reads the credentials handed over on descriptor fd into the Go
// environment.
func restoreSecretEnv(fd string) error {
	_ = os.Unsetenv(secretsFDEnv)
	n, err := strconv.Atoi(fd)
	if err != nil || n < 3 {
		return fmt.Errorf("%s=%q: expected a descriptor number", secretsFDEnv, fd)
	}
	f := os.NewFile(uintptr(n), "secrets")
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretsBytes+1))
	if err != nil {
		return fmt.Errorf("read the credentials handed over: %w", err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil {
		return errors.New("read the credentials handed over: not what modelops writes")
	}
	for name, value := range secrets {
		if !slices.Contains(secretEnv, name) {
			return fmt.Errorf("read the credentials handed over: %s is not a credential", name)
		}
		if err := os.Setenv(name, value); err != nil {
			return err
		}
	}
	return nil
}
