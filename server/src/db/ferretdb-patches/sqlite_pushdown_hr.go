// Added to FerretDB 1.24.2's SQLite backend by the health-records server's local build
// (server/src/db/local-database.ts). Not part of FerretDB.
//
// FerretDB 1.24's SQLite backend pushes down only a lone {_id: <string>} filter; every other
// query reads and decodes the whole collection in Go. This pushes down, at the top of the filter
// or inside $and (nested too):
//   - equality on top-level fields ({field: "s"}, {field: {$in: [...]}}, and $or of those),
//     written the way FerretDB writes its expression indexes (_ferretdb_sjson->"field"), so
//     SQLite uses those indexes (the patient partition key, _id lists);
//   - string ranges on top-level fields ({field: {$gte: "a", $lt: "b"}}, any of $gt/$gte with
//     any of $lt/$lte, and $or of those) as a range of the same index expression (the search
//     lookup keys: prefix matches on _id; see hrRangeBounds for why the range holds every match);
//   - with --test-enable-nested-pushdown, equality on dotted paths (see hrDottedCondition), which
//     SQLite checks without an index but far faster than FerretDB's Go filter.
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

// Limits on what is pushed down, so that a large filter never becomes an SQL statement SQLite
// refuses ("too many SQL variables" beyond 32766, "expression tree is too large" beyond a depth
// of 1000). What is not pushed down is filtered in Go as before: a bigger superset, never an error.
const (
	// hrMaxInValues is the longest top-level $in list pushed down (an id list of the search lookup
	// keys: SQLite looks each value up in the index).
	hrMaxInValues = 10000
	// hrMaxOrBranches is the most $or branches pushed down (SQLite nests each OR one deeper).
	hrMaxOrBranches = 100
	// hrMaxConditions and hrMaxArgs bound the ANDed conditions and the arguments of one statement.
	hrMaxConditions = 100
	hrMaxArgs       = 20000
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
	if strings.ContainsRune(key, '.') {
		return hrDottedCondition(key, v)
	}

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
		if lo, hi, isRange := hrRangeBounds(v); isRange {
			return hrRangeCondition(key, lo, hi), []any{lo, hi}, true
		}
		if v.Len() != 1 || !v.Has("$in") {
			return "", nil, false
		}
		arr, isArr := must.NotFail(v.Get("$in")).(*types.Array)
		if !isArr || arr.Len() > hrMaxInValues {
			return "", nil, false
		}
		if arr.Len() == 0 {
			return "0", nil, true // matches nothing, not even arrays (the search's "no candidates")
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

// hrRangeCondition is the SQL range (a superset) for the JSON texts from hrRangeBounds.
func hrRangeCondition(key, lo, hi string) string {
	if key == "_id" {
		return fmt.Sprintf("(%s >= ? AND %s < ?)", metadata.IDColumn, metadata.IDColumn)
	}

	col := fmt.Sprintf("%s->%q", metadata.DefaultColumn, key)

	// A field holding an array also matches in MongoDB when its elements satisfy the bounds.
	return fmt.Sprintf("((%s >= ? AND %s < ?) OR (%s >= '[' AND %s < ']'))", col, col, col, col)
}

// hrRangeBounds turns {$gte|$gt: a, $lt|$lte: b} (two strings) into bounds [lo, hi) on the JSON
// text of the field (_ferretdb_sjson->"field", which is the string as FerretDB wrote it: in
// quotes, escaped by encoding/json) that hold the JSON text of every string s with a <= s <= b.
// ok is false for any other shape, and when no such bounds are known.
//
// Text order and string order differ: the closing quote (0x22) sorts after " " and "!", and an
// escaped character is spelled from a backslash (0x5c, written B below) whatever it stands for.
// So the bounds only rely on what is certain. Let c be the longest common prefix of a and b, n
// its length:
//   - every s in [a, b] starts with c (a first difference before n would put s below a or
//     above b), and c is written as itself when every character of it is safe
//     (hrPushdownSafe): the text starts with `"` + c;
//   - byte n of s, if any, is at most b[n] (else s > b); when b[n] is ASCII, so is that
//     character, and its text is itself or an escape starting with B: at most max(b[n], B).
//     The closing quote, where s ends after c, is lower still;
//   - likewise that character is at least a[n] (s = c would be below a), so its text starts
//     at least at min(a[n], B).
//
// Hence lo = `"` + c + min(a[n], B) and hi = `"` + c + (max(b[n], B) + 1), leaving out the
// extra byte where a or b ends at n. FerretDB filters every returned row again.
func hrRangeBounds(doc *types.Document) (lo, hi string, ok bool) {
	if doc.Len() != 2 {
		return "", "", false
	}

	var a, b string
	var hasA, hasB bool

	for _, op := range doc.Keys() {
		s, isStr := must.NotFail(doc.Get(op)).(string)
		if !isStr {
			return "", "", false
		}

		switch op {
		case "$gte", "$gt":
			a, hasA = s, true
		case "$lt", "$lte":
			b, hasB = s, true
		default:
			return "", "", false
		}
	}

	if !hasA || !hasB {
		return "", "", false
	}

	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}

	c := a[:n]
	if !hrPushdownSafe(c) {
		return "", "", false
	}

	lo, hi = `"`+c, `"`+c+"\x7f"

	if n < len(a) {
		lo += string(rune(min(a[n], '\\')))
	}

	if n < len(b) {
		if b[n] > 0x7e {
			return "", "", false
		}

		hi = `"` + c + string(rune(max(b[n], '\\')+1))
	}

	return lo, hi, true
}

// hrStrings returns the strings v stands for: "s" or {$in: ["s", ...]}; ok is false otherwise.
func hrStrings(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, hrPushdownSafe(v)
	case *types.Document:
		if v.Len() != 1 || !v.Has("$in") {
			return nil, false
		}
		arr, isArr := must.NotFail(v.Get("$in")).(*types.Array)
		if !isArr || arr.Len() == 0 || arr.Len() > 500 {
			return nil, false
		}
		out := make([]string, 0, arr.Len())
		for i := 0; i < arr.Len(); i++ {
			s, isStr := must.NotFail(arr.Get(i)).(string)
			if !isStr || !hrPushdownSafe(s) {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	default:
		return nil, false
	}
}

// hrDottedCondition pushes down equality on a dotted path ("sp.identifier.sc") as a scan in SQL
// (json_each finds the value whether the path holds it or an array containing it). No index is
// used, but SQLite checks a row in microseconds where decoding it in Go takes a hundred. Rows
// where a step of the path is an array are always returned: MongoDB looks inside those too.
func hrDottedCondition(key string, v any) (string, []any, bool) {
	values, ok := hrStrings(v)
	if !ok {
		return "", nil, false
	}

	segs := strings.Split(key, ".")
	path := "$"
	var arraySteps []string

	for i, seg := range segs {
		if seg == "" || strings.HasPrefix(seg, "$") || !hrPushdownSafe(seg) || strings.ContainsAny(seg, "'") {
			return "", nil, false
		}
		if strings.Trim(seg, "0123456789") == "" {
			return "", nil, false // a numeric step may be an array position
		}
		path += fmt.Sprintf(".%q", seg)
		if i < len(segs)-1 {
			arraySteps = append(arraySteps, fmt.Sprintf("json_type(%s, '%s') = 'array'", metadata.DefaultColumn, path))
		}
	}

	// A document holding one of the values holds its JSON text ("value", one spelling for the
	// safe characters allowed here) somewhere: instr() rules out most rows without parsing them.
	var contains []string
	var args []any
	placeholders := make([]string, len(values))
	for i, value := range values {
		contains = append(contains, fmt.Sprintf("instr(%s, ?) > 0", metadata.DefaultColumn))
		args = append(args, `"`+value+`"`)
		placeholders[i] = "?"
	}
	for _, value := range values {
		args = append(args, value)
	}

	exact := fmt.Sprintf(
		"EXISTS (SELECT 1 FROM json_each(%s, '%s') WHERE value IN (%s))",
		metadata.DefaultColumn, path, strings.Join(placeholders, ", "),
	)
	if len(arraySteps) > 0 {
		exact += " OR " + strings.Join(arraySteps, " OR ")
	}

	return "((" + strings.Join(contains, " OR ") + ") AND (" + exact + "))", args, true
}

// hrOrCondition pushes down {$or: [{k1: v1}, {k2: v2}, ...]} when every branch can be; dotted
// says a branch is on a dotted path (checked by a scan, not an index).
func hrOrCondition(v any) (cond string, args []any, dotted, ok bool) {
	arr, isArr := v.(*types.Array)
	if !isArr || arr.Len() == 0 || arr.Len() > hrMaxOrBranches {
		return "", nil, false, false
	}

	var conds []string

	for i := 0; i < arr.Len(); i++ {
		branch, isDoc := must.NotFail(arr.Get(i)).(*types.Document)
		if !isDoc || branch.Len() != 1 {
			return "", nil, false, false
		}

		key := branch.Keys()[0]
		if strings.ContainsRune(key, '.') {
			dotted = true
		}
		cond, condArgs, condOK := hrCondition(key, must.NotFail(branch.Get(key)))
		if !condOK {
			return "", nil, false, false
		}

		conds = append(conds, cond)
		args = append(args, condArgs...)
	}

	return "(" + strings.Join(conds, " OR ") + ")", args, dotted, true
}

// hrWhereClause returns a WHERE clause (with leading space) and its arguments, or "" and nil.
// It looks at the filter's top-level keys and $or, and the same inside $and (nested too).
//
// When some condition is on top-level fields (answered from an index: _id, the patient partition
// key), conditions on dotted paths are left to FerretDB's Go filter: the indexed condition already
// leaves a handful of rows, and checking a dotted path in SQL parses each row's whole JSON text,
// which costs about as much as decoding the row (sjson_fast_hr.go) and filtering it in Go.
func hrWhereClause(filter *types.Document) (string, []any) {
	if filter == nil {
		return "", nil
	}

	var conds, scanConds []string
	var args, scanArgs []any

	add := func(cond string, condArgs []any, dotted bool) {
		if len(conds)+len(scanConds) >= hrMaxConditions || len(args)+len(scanArgs)+len(condArgs) > hrMaxArgs {
			return // left to the Go filter
		}

		if dotted {
			scanConds = append(scanConds, cond)
			scanArgs = append(scanArgs, condArgs...)
			return
		}

		conds = append(conds, cond)
		args = append(args, condArgs...)
	}

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
				if cond, condArgs, dotted, ok := hrOrCondition(v); ok {
					add(cond, condArgs, dotted)
				}
			default:
				if cond, condArgs, ok := hrCondition(key, v); ok {
					add(cond, condArgs, strings.ContainsRune(key, '.'))
				}
			}
		}
	}

	visit(filter, 0)

	if len(conds) == 0 {
		conds, args = scanConds, scanArgs
	}

	if len(conds) == 0 {
		return "", nil
	}

	return " WHERE " + strings.Join(conds, " AND "), args
}
