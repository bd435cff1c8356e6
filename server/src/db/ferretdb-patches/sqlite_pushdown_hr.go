// Added to FerretDB 1.24.2's SQLite backend by the health-records server's local build
// (server/src/db/local-database.ts). Not part of FerretDB.
//
// FerretDB 1.24's SQLite backend pushes down only a lone {_id: <string>} filter; every other
// query reads and decodes the whole collection in Go. This pushes equality on top-level fields
// (at the top of the filter or inside a top-level $and) down to SQLite, written the way FerretDB
// writes its expression indexes (_ferretdb_sjson->"field"), so SQLite can use those indexes.
// Pushed down: {field: "s"}, {field: {$in: ["s", ...]}}, {$or: [...]} of those, at the top of the
// filter or inside $and.
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

// hrCondition is the SQL condition (a superset) for {key: v}, where v is a string or
// {$in: [strings]}; ok is false when it cannot be pushed down.
func hrCondition(key string, v any) (cond string, args []any, ok bool) {
	if !hrPushdownKey(key) {
		return "", nil, false
	}

	var values []any

	switch v := v.(type) {
	case string:
		values = []any{v}
	case types.ObjectID:
		if key != "_id" {
			return "", nil, false
		}
		values = []any{v}
	case *types.Document:
		if v.Len() != 1 || !v.Has("$in") {
			return "", nil, false
		}
		arr, isArr := must.NotFail(v.Get("$in")).(*types.Array)
		if !isArr || arr.Len() == 0 || arr.Len() > 500 {
			return "", nil, false
		}
		for i := 0; i < arr.Len(); i++ {
			values = append(values, must.NotFail(arr.Get(i)))
		}
	default:
		return "", nil, false
	}

	placeholders := make([]string, len(values))
	for i, value := range values {
		str, isStr := value.(string)
		if isStr && !hrPushdownSafe(str) {
			return "", nil, false
		}
		if _, isOID := value.(types.ObjectID); !isStr && !(isOID && key == "_id") {
			return "", nil, false
		}
		placeholders[i] = "?"
		args = append(args, string(must.NotFail(sjson.MarshalSingleValue(value))))
	}

	in := "= ?"
	if len(values) > 1 {
		in = "IN (" + strings.Join(placeholders, ", ") + ")"
	}

	if key == "_id" {
		return fmt.Sprintf("%s %s", metadata.IDColumn, in), args, true
	}

	col := fmt.Sprintf("%s->%q", metadata.DefaultColumn, key)

	// A field holding an array that contains a value also matches in MongoDB.
	return fmt.Sprintf("(%s %s OR (%s >= '[' AND %s < ']'))", col, in, col, col), args, true
}

// hrOrCondition pushes down {$or: [{k1: v1}, {k2: v2}, ...]} when every branch can be.
func hrOrCondition(v any) (string, []any, bool) {
	arr, ok := v.(*types.Array)
	if !ok || arr.Len() == 0 {
		return "", nil, false
	}

	var conds []string
	var args []any

	for i := 0; i < arr.Len(); i++ {
		branch, isDoc := must.NotFail(arr.Get(i)).(*types.Document)
		if !isDoc || branch.Len() != 1 {
			return "", nil, false
		}

		key := branch.Keys()[0]
		cond, condArgs, condOK := hrCondition(key, must.NotFail(branch.Get(key)))
		if !condOK {
			return "", nil, false
		}

		conds = append(conds, cond)
		args = append(args, condArgs...)
	}

	return "(" + strings.Join(conds, " OR ") + ")", args, true
}

// hrWhereClause returns a WHERE clause (with leading space) and its arguments, or "" and nil.
// It looks at the filter's top-level keys and $or, and the same inside $and (nested too).
func hrWhereClause(filter *types.Document) (string, []any) {
	if filter == nil {
		return "", nil
	}

	var conds []string
	var args []any

	var visit func(doc *types.Document, depth int)
	visit = func(doc *types.Document, depth int) {
		for _, key := range doc.Keys() {
			v := must.NotFail(doc.Get(key))

			switch key {
			case "$and":
				// Nested $and is still a conjunction: its conditions are necessary too.
				arr, ok := v.(*types.Array)
				if !ok || depth > 8 {
					continue
				}

				for i := 0; i < arr.Len(); i++ {
					if sub, isDoc := must.NotFail(arr.Get(i)).(*types.Document); isDoc {
						visit(sub, depth+1)
					}
				}
			case "$or":
				if cond, condArgs, ok := hrOrCondition(v); ok {
					conds = append(conds, cond)
					args = append(args, condArgs...)
				}
			default:
				if cond, condArgs, ok := hrCondition(key, v); ok {
					conds = append(conds, cond)
					args = append(args, condArgs...)
				}
			}
		}
	}

	visit(filter, 0)

	if len(conds) == 0 {
		return "", nil
	}

	return " WHERE " + strings.Join(conds, " AND "), args
}
