// Health-records server patch to FerretDB v1.24.2: the top-level projection (projection_hr.go)
// must give exactly what FerretDB's own projection gives, field order included, and copies.
// Run with `npm run check:ferretdb`.
package common

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

func hrRandValue(r *rand.Rand, depth int) any {
	switch n := r.Intn(6); {
	case n == 0 && depth < 3:
		doc := types.MakeDocument(3)
		for i := r.Intn(4); i > 0; i-- {
			doc.Set(fmt.Sprintf("f%d", r.Intn(5)), hrRandValue(r, depth+1))
		}

		return doc
	case n == 1 && depth < 3:
		arr := types.MakeArray(3)
		for i := r.Intn(4); i > 0; i-- {
			arr.Append(hrRandValue(r, depth+1))
		}

		return arr
	case n == 2:
		return int32(r.Intn(100))
	case n == 3:
		return types.Null
	default:
		return fmt.Sprintf("s%d", r.Intn(100))
	}
}

func hrMarshal(t *testing.T, doc *types.Document) string {
	t.Helper()

	return string(must.NotFail(sjson.Marshal(doc)))
}

func TestHRTopLevelProjectionIsFerretDBs(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	names := []string{"_id", "resource", "vid", "ts", "sp", "patient", "a", "b"}
	checked := 0

	for i := 0; i < 5000; i++ {
		doc := must.NotFail(types.NewDocument("_id", fmt.Sprintf("id%d", i)))
		for _, k := range r.Perm(len(names))[:r.Intn(len(names))] {
			if names[k] != "_id" {
				doc.Set(names[k], hrRandValue(r, 0))
			}
		}

		projection := types.MakeDocument(4)
		for _, k := range r.Perm(len(names))[:1+r.Intn(4)] {
			projection.Set(names[k], names[k] != "_id" || r.Intn(2) == 0)
		}

		if projection.Len() == 1 && projection.Has("_id") {
			continue // an _id-only projection is not an inclusion
		}

		want, err := projectDocumentWithoutID(doc, projection, nil, true)
		if err != nil {
			t.Fatal(err)
		}

		got, ok := hrProjectTopLevel(doc, projection, true)
		if !ok {
			t.Fatalf("%v: not taken", projection)
		}

		if hrMarshal(t, got) != hrMarshal(t, want) {
			t.Fatalf("%s with %v:\n got %s\nwant %s", hrMarshal(t, doc), projection, hrMarshal(t, got), hrMarshal(t, want))
		}

		// A copy: changing what was projected leaves the document as it was.
		before := hrMarshal(t, doc)
		for _, key := range got.Keys() {
			switch v := must.NotFail(got.Get(key)).(type) {
			case *types.Document:
				v.Set("changed", true)
			case *types.Array:
				v.Append("changed")
			}
		}

		if hrMarshal(t, doc) != before {
			t.Fatalf("projecting changed the document")
		}

		checked++
	}

	if checked < 4000 {
		t.Fatalf("only %d projections checked", checked)
	}
}

func TestHRTopLevelProjectionLeavesOtherProjectionsAlone(t *testing.T) {
	doc := must.NotFail(types.NewDocument("_id", "x", "a", must.NotFail(types.NewDocument("b", int32(1)))))

	for _, projection := range []*types.Document{
		must.NotFail(types.NewDocument("a.b", true)),
		must.NotFail(types.NewDocument("a", false)),
		must.NotFail(types.NewDocument("a", "literal")),
		must.NotFail(types.NewDocument("$a", true)),
	} {
		if _, ok := hrProjectTopLevel(doc, projection, !projection.Has("a") || must.NotFail(projection.Get("a")) != false); ok {
			t.Errorf("%v was taken", projection)
		}
	}

	if _, ok := hrProjectTopLevel(doc, must.NotFail(types.NewDocument("a", true)), false); ok {
		t.Errorf("an exclusion was taken")
	}
}
