// Package secret holds credentials so that they cannot reach a log, an error or a report by
// accident.
package secret

import (
	"fmt"
	"log/slog"
)

// Secret is a token, a password or a private key. It prints as [redacted] with every fmt
// verb, in slog and when marshalled; string(s) gives the value.
type Secret string

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Format implements fmt.Formatter, so that no verb (%x, %q, %d) prints the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalText implements encoding.TextMarshaler, so that JSON, YAML and slog's handlers
// encoding a struct that holds a Secret write [redacted].
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
