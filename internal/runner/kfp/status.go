package kfp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/medimind/modelops/reconciler"
)

// ResultGrace is how long after a run succeeded its result may stay unreadable (a registry
// that has not yet made the version ready) before the run fails.
const ResultGrace = time.Hour

// observe maps a run just read from the API server to a training run, terminates it when
// it outlived its timeout, and records when to poll it next.
func (r *Runner) observe(ctx context.Context, key runKey, t *tracked, run *Run) reconciler.TrainingRun {
	now := r.cfg.Now()
	tr := reconciler.TrainingRun{Generation: key.generation, ID: run.RunID, Source: source(run)}
	if run.RuntimeConfig != nil {
		tr.Commit, _ = run.RuntimeConfig.Parameters[ParamCommit].(string)
	}
	if run.CreatedAt != nil {
		tr.Started = *run.CreatedAt
	}
	tr.Phase, tr.Message = phaseOf(run)
	switch {
	case tr.Phase == reconciler.RunRunning && t.timeout > 0 && !tr.Started.IsZero() && now.Sub(tr.Started) > t.timeout:
		if err := r.terminate(ctx, run.RunID); err != nil {
			tr.Message = fmt.Sprintf("ran longer than its timeout of %s; terminating it failed (retried on the next poll): %v", t.timeout, err)
			break
		}
		tr.Phase, tr.Finished = reconciler.RunFailed, now
		tr.Message = fmt.Sprintf("timed out: ran longer than its timeout of %s and was terminated", t.timeout)
	case tr.Phase == reconciler.RunRunning, tr.Phase == reconciler.RunFailed:
		// The check on the merge commit shows the message: it links to the run.
		tr.Message = strings.TrimPrefix(tr.Message+"; ", "; ") + "see " + r.UIURL(run.RunID)
	case tr.Phase == reconciler.RunSucceeded && r.cfg.Results != nil:
		res, err := r.cfg.Results.Result(ctx, key.model, key.generation, run)
		switch {
		case err != nil && run.FinishedAt != nil && now.Sub(*run.FinishedAt) > ResultGrace:
			tr.Phase, tr.Message = reconciler.RunFailed, fmt.Sprintf("the pipeline succeeded but its result was not found within %s: %v", ResultGrace, err)
		case err != nil:
			// Not final: the registry may answer on the next poll.
			tr.Phase, tr.Message = reconciler.RunRunning, "the pipeline succeeded; reading its result: "+err.Error()
			r.remember(t, tr, run.State, now)
			return tr
		default:
			tr.Result = res
		}
	}
	if tr.Phase.Finished() && tr.Finished.IsZero() {
		tr.Finished = now
		if run.FinishedAt != nil && !run.FinishedAt.IsZero() {
			tr.Finished = *run.FinishedAt
		}
	}
	r.remember(t, tr, run.State, now)
	return tr
}

// remember keeps tr as the run's last observation: the poll interval doubles while the state
// stays the same, and a finished run is never polled again.
func (r *Runner) remember(t *tracked, tr reconciler.TrainingRun, state string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case t.state == state && !t.polled.IsZero():
		t.interval = min(2*t.interval, r.cfg.MaxPoll)
	default:
		t.interval = r.cfg.MinPoll
	}
	t.last, t.state, t.polled, t.finalised = tr, state, now, tr.Phase.Finished()
}

// phaseOf maps a run's state to a phase, and a failed run to what failed.
func phaseOf(run *Run) (reconciler.RunPhase, string) {
	switch run.State {
	case StateSucceeded:
		return reconciler.RunSucceeded, ""
	case StateFailed, StateCanceled, StateSkipped:
		return reconciler.RunFailed, failure(run)
	case StatePaused:
		return reconciler.RunRunning, "paused in Kubeflow Pipelines; resume it there"
	case StateCanceling:
		return reconciler.RunRunning, "being cancelled"
	case StatePending:
		return reconciler.RunRunning, "pending"
	default: // RUNNING, and RUNTIME_STATE_UNSPECIFIED of a run just created
		return reconciler.RunRunning, ""
	}
}

// failure says why a run ended without success: its state, the task that failed (the
// innermost failed task, not the DAGs around it) and the errors of both.
func failure(run *Run) string {
	msg := "the pipeline run ended " + run.State
	if run.Error != nil && run.Error.Message != "" {
		msg += ": " + run.Error.Message
	}
	if task := failedTask(run.RunDetails); task != nil {
		msg += fmt.Sprintf("; task %q failed", task.DisplayName)
		if task.Error != nil && task.Error.Message != "" {
			msg += ": " + task.Error.Message
		}
	}
	return msg
}

func failedTask(d *RunDetails) *TaskDetail {
	if d == nil {
		return nil
	}
	parents := map[string]bool{}
	for _, t := range d.TaskDetails {
		if t.State == StateFailed && t.ParentTaskID != "" {
			parents[t.ParentTaskID] = true
		}
	}
	for i := range d.TaskDetails {
		if t := &d.TaskDetails[i]; t.State == StateFailed && !parents[t.TaskID] {
			return t
		}
	}
	return nil
}
