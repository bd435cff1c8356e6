// Added to FerretDB 1.24.2's SQLite backend by the health-records server's local build
// (server/src/db/local-database.ts). Not part of FerretDB.
//
// FerretDB 1.24's SQLite backend pushes down only a lone {_id: <string>} filter; every other
// query reads and decodes the whole collection in Go. This pushes equality on top-level fields
// (at the top of the filter or inside a top-level $and) down to SQLite, written the way FerretDB
// writes its expression indexes (_ferretdb_sjson->"field"), so SQLite can use those indexes.
//
// FerretDB still applies the full filter in Go to every row SQLite returns, so the WHERE clause
// only has to return a superset of the matching documents:
//   - a field holding an array that contains the value also matches in MongoDB: rows whose field
//     is an array (its JSON text starts with '[') are always returned;
//   - only strings made of characters whose JSON encoding has one form are pushed down, so the
//     text comparison cannot miss a match because of escaping differences.

package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

func hrPushdownSafe(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' {
			return false
		}
	}
	return true
}

func hrPushdownKey(key string) bool {
	return key != "" && !strings.HasPrefix(key, "$") && !strings.ContainsRune(key, '.') && hrPushdownSafe(key)
}

// hrWhereClause returns a WHERE clause (with leading space) and its arguments, or "" and nil.
func hrWhereClause(filter *types.Document) (string, []any) {
	if filter == nil {
		return "", nil
	}

	var conds []string
	var args []any

	add := func(key string, v any) {
		var arg string

		switch v := v.(type) {
		case string:
			if !hrPushdownSafe(v) {
				return
			}
			arg = string(must.NotFail(sjson.MarshalSingleValue(v)))
		case types.ObjectID:
			if key != "_id" {
				return
			}
			arg = string(must.NotFail(sjson.MarshalSingleValue(v)))
		default:
			return
		}

		if key == "_id" {
			conds = append(conds, fmt.Sprintf("%s = ?", metadata.IDColumn))
			args = append(args, arg)

			return
		}

		col := fmt.Sprintf("%s->%q", metadata.DefaultColumn, key)
		conds = append(conds, fmt.Sprintf("(%s = ? OR (%s >= '[' AND %s < ']'))", col, col, col))
		args = append(args, arg)
	}

	for _, key := range filter.Keys() {
		v := must.NotFail(filter.Get(key))

		if key == "$and" {
			arr, ok := v.(*types.Array)
			if !ok {
				continue
			}

			for i := 0; i < arr.Len(); i++ {
				sub, ok := must.NotFail(arr.Get(i)).(*types.Document)
				if !ok {
					continue
				}

				for _, k := range sub.Keys() {
					if hrPushdownKey(k) {
						add(k, must.NotFail(sub.Get(k)))
					}
				}
			}

			continue
		}

		if hrPushdownKey(key) {
			add(key, v)
		}
	}

	if len(conds) == 0 {
		return "", nil
	}

	return " WHERE " + strings.Join(conds, " AND "), args
}
