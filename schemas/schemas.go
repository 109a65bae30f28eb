package schemas

import _ "embed" // for the embedded schema file

// ModelPolicyFile is the file name of the ModelPolicy schema in this directory.
const ModelPolicyFile = "modelpolicy.v1alpha1.json"

// ModelPolicyID is the $id of the ModelPolicy schema.
const ModelPolicyID = "https://modelops.medimind.io/schemas/" + ModelPolicyFile

// ModelPolicy is the committed JSON Schema (draft 2020-12) of a ModelPolicy document, as
// written by Generate. Callers must not modify it.
//
//go:embed modelpolicy.v1alpha1.json
var ModelPolicy []byte
