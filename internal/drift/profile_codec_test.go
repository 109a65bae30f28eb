package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
)

// codecTables mixes every kind of prepared column: numeric with missing and infinite
// cells and counted invalid values, numeric with few distinct values (chi-square/z),
// numeric forced categorical, and text with a category seen on one side only.
func codecTables() (ref, cur *dataset.Table) {
	few := func(n int, shift int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64((i + shift) % 4)
		}
		return v
	}
	a, b := normalColumn("a", 3000, 0, 1), normalColumn("a", 2500, 0.2, 2)
	a.Float[3], a.Float[7], a.Float[11] = math.NaN(), math.Inf(1), math.Inf(-1)
	a.Invalid = 1
	ref = &dataset.Table{Source: "ref", Rows: 3000, Columns: []dataset.Column{
		a, {Name: "few", Float: few(3000, 0)}, {Name: "code", Float: few(3000, 1)},
		stringColumn("ward", append(repeat("icu", 1500), append(repeat("er", 1400), repeat("", 100)...)...)...),
	}}
	cur = &dataset.Table{Source: "cur", Rows: 2500, Columns: []dataset.Column{
		b, {Name: "few", Float: few(2500, 1)}, {Name: "code", Float: few(2500, 2)},
		stringColumn("ward", append(repeat("icu", 1000), append(repeat("er", 1000), repeat("ward-7", 500)...)...)...),
	}}
	return ref, cur
}

func TestDecodedProfileGivesTheSameReportByteForByte(t *testing.T) {
	ctx := context.Background()
	ref, cur := codecTables()
	share := 0.25
	opts := Options{AllTests: true, Categorical: []string{"code"}, DatasetShare: &share,
		Groups: []Group{{Name: "labs", Pattern: "^(a|few)$"}, {Name: "site", Features: []string{"ward"}}}}
	p, err := NewProfile(ctx, ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeProfile(&buf, p); err != nil {
		t.Fatal(err)
	}
	encoded := buf.Bytes()
	q, err := DecodeProfile(ctx, bytes.NewReader(encoded), "ref", opts, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Compare(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.Compare(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("decoded profile's report differs:\n got %s\nwant %s", gj, wj)
	}
	if want.Columns[0].InvalidReference != 1 || want.Columns[0].MissingReference != 2 {
		t.Fatalf("column a: invalid %d missing %d, want 1 and 2: three cells dropped, one of them invalid (the fixture lost its cells)", want.Columns[0].InvalidReference, want.Columns[0].MissingReference)
	}
	// The options given at decoding are the ones compared under: another share changes
	// the verdict, not the prepared columns.
	other := 0.9
	opts.DatasetShare = &other
	r, err := DecodeProfile(ctx, bytes.NewReader(encoded), "ref", opts, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Compare(ctx, cur)
	if err != nil || rep.DatasetShare != 0.9 {
		t.Fatalf("dataset share %v (%v), want 0.9", rep.DatasetShare, err)
	}

	for name, damaged := range map[string][]byte{
		"truncated":     encoded[:len(encoded)-9],
		"empty":         nil,
		"other version": append(append([]byte(profileMagic), 2, 0, 0, 0), encoded[12:]...),
		"trailing byte": append(bytes.Clone(encoded), 0),
		"huge count":    append(bytes.Clone(encoded[:12]), 0xff, 0xff, 0xff, 0x7f),
	} {
		if _, err := DecodeProfile(ctx, bytes.NewReader(damaged), "ref", opts, 1<<20); !errors.Is(err, ErrProfileFormat) {
			t.Errorf("%s: err = %v, want ErrProfileFormat", name, err)
		}
	}
}
