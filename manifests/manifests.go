package manifests

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var files embed.FS

const (
	// KustomizationFile lists the resources that deploy the reconciler.
	KustomizationFile = "kustomization.yaml"
	// JobTemplateFile is the training Job template the Kubernetes runner fills in.
	JobTemplateFile = "job-template.yaml"
)

// FS returns the embedded YAML files of this directory.
func FS() fs.FS { return files }

// Names returns the names of the embedded YAML files in lexical order.
func Names() []string {
	// Glob fails only on a malformed pattern, and this one is a valid constant.
	names, _ := fs.Glob(files, "*.yaml")
	return names
}

// Read returns the contents of the embedded file name.
func Read(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", name, err)
	}
	return b, nil
}

// Resources returns the files kustomization.yaml lists, in its order.
func Resources() ([]string, error) {
	b, err := Read(KustomizationFile)
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("decode %s: %w", KustomizationFile, err)
	}
	return k.Resources, nil
}

// Decode returns the objects of the embedded file name, one per YAML document, as the API
// server would receive them. Duplicate keys are errors.
func Decode(name string) ([]*unstructured.Unstructured, error) {
	b, err := Read(name)
	if err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var objs []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s document %d: %w", name, doc, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("decode %s document %d: %w", name, doc, err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("decode %s document %d: %w", name, doc, err)
		}
		objs = append(objs, obj)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("decode %s: no objects", name)
	}
	return objs, nil
}

// stripComments drops comment-only lines, so a document of comments counts as empty.
func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
		}
	}
	return out
}

// Objects returns the objects of every file kustomization.yaml lists, in its order. They
// carry no namespace: kustomization.yaml sets it when deploying.
func Objects() ([]*unstructured.Unstructured, error) {
	names, err := Resources()
	if err != nil {
		return nil, err
	}
	var all []*unstructured.Unstructured
	for _, name := range names {
		objs, err := Decode(name)
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	return all, nil
}

// JobTemplate returns the training Job template as a batch/v1 Job, decoded strictly:
// unknown or duplicate fields are errors. Each call returns a new Job the caller may change.
func JobTemplate() (*batchv1.Job, error) {
	b, err := Read(JobTemplateFile)
	if err != nil {
		return nil, err
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(b, &job); err != nil {
		return nil, fmt.Errorf("decode %s: %w", JobTemplateFile, err)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		return nil, fmt.Errorf("decode %s: apiVersion %q kind %q, want batch/v1 Job", JobTemplateFile, job.APIVersion, job.Kind)
	}
	return &job, nil
}
