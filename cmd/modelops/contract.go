package main

// resultExample is a training job's result, as the job writes it (TestTrainerContract parses it).
const resultExample = `{"version": "13", "uri": "models:/sepsis-risk/13",
   "metrics": {"auc": 0.91, "precision": 0.80, "recall": 0.74, "coverage": 1.0,
               "samples": 12000, "latencyMs": 3.2}}`

// trainerContract is how a training job is started and reports its result; the help of the
// commands that launch training ends with it.
const trainerContract = `

Training jobs: a merged raise of spec.retrain.generation launches spec.retrain.job once per
(model, generation), with MODELOPS_MODEL, MODELOPS_GENERATION, MODELOPS_COMMIT and
MODELOPS_OUTPUT (a directory) set besides the job's own env. The job exits 0 and reports its
candidate as one JSON object (no other fields; a job without a valid result fails):

  ` + resultExample + `

  version    string, required: the candidate's version in the model registry
  uri        string: where the model is
  metrics    auc, precision, recall, coverage: numbers in [0, 1] or null;
             samples: integer >= 0 (held-out rows); latencyMs: number >= 0 or null (p95)

Local runner (the default): the job writes $MODELOPS_OUTPUT/result.json (at most 1 MiB). The
command runs as a process on this machine, in --data-root, else in the checkout of a local
non-bare --repo, else in its own run directory; image, gpus, resources and nodeSelector are ignored (the log says so once). Its
output is in <state-dir>/runs/<model>/gen-<N>/log.
Kubernetes (--namespace): the job writes the JSON to /dev/termination-log, the container's
termination message (at most 4096 bytes); $MODELOPS_OUTPUT is scratch space in the pod.`
