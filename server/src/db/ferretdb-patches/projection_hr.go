// Added to FerretDB 1.24.2's handler by the health-records server's local build
// (server/src/db/local-database.ts). Not part of FerretDB.
//
// Every search of the server asks for a few top-level fields ({resource: 1, vid: 1, ts: 1}).
// FerretDB's projection deep-copies the whole document first, then everything projected so far
// once more for each included field (setBySourceOrder keeps the source document's order that
// way): a Patient's resource several times and its search index fields once, though they are left
// out, a fifth of FerretDB's CPU for a page of Patients. For an inclusion of top-level fields only,
// the same document is built directly: each included field copied once, in the source's order.

package common

import (
	"strings"

	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// hrProjectDocumentWithoutID is projectDocumentWithoutID, taking the short way where it can.
func hrProjectDocumentWithoutID(doc, projection, filter *types.Document, inclusion bool) (*types.Document, error) {
	if projected, ok := hrProjectTopLevel(doc, projection, inclusion); ok {
		return projected, nil
	}

	return projectDocumentWithoutID(doc, projection, filter, inclusion)
}

// hrProjectTopLevel applies an inclusion projection of top-level fields ({a: true, b: true}, _id
// aside) as projectDocumentWithoutID does: the fields the document has, copied, in its order.
// ok is false for any other projection.
func hrProjectTopLevel(doc, projection *types.Document, inclusion bool) (*types.Document, bool) {
	if !inclusion {
		return nil, false
	}

	for _, key := range projection.Keys() {
		if key == "_id" {
			continue
		}

		if key == "" || strings.ContainsRune(key, '.') || strings.HasPrefix(key, "$") {
			return nil, false
		}

		if v, _ := projection.Get(key); v != true {
			return nil, false
		}
	}

	projected := types.MakeDocument(projection.Len())

	for _, key := range doc.Keys() {
		if key == "_id" || !projection.Has(key) || projected.Has(key) {
			continue
		}

		switch v := must.NotFail(doc.Get(key)).(type) {
		case *types.Document:
			projected.Set(key, v.DeepCopy())
		case *types.Array:
			projected.Set(key, v.DeepCopy())
		default:
			projected.Set(key, v)
		}
	}

	return projected, true
}
