// Package examples embeds the example policy repository (policy-repo/), so that the binary
// carries it: `modelops demo` starts from these policies without a checkout of this source
// tree. Embedding cannot reach outside a module directory, which is why this package lives
// beside the files it embeds.
package examples
