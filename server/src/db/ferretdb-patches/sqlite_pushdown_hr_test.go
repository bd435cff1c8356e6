// Health-records server patch to FerretDB v1.24.2: checks that what sqlite_pushdown_hr.go pushes
// down to SQLite never leaves out a document FerretDB's own filter would match (FerretDB filters
// every row SQLite returns again, so a superset is right and a missing row is a wrong answer),
// that the search lookup keys' prefix ranges are answered exactly, and that they use the index.
// Run with `npm run check:ferretdb`.
package sqlite

import (
	"database/sql"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/FerretDB/FerretDB/internal/handler/common"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"

	_ "modernc.org/sqlite"
)

// hrPieces are the characters strings are built from: the ones whose JSON text differs from the
// string (quote, backslash, control characters, the HTML characters encoding/json escapes, U+2028),
// the ones that sort below the closing quote (space, "!"), ASCII neighbours of the bounds, and
// multi-byte UTF-8.
var hrPieces = []string{
	"a", "b", "c", "z", "A", "Z", "0", "9", " ", "!", `"`, "#", `\`, "/", "<", ">", "&", "%", "-", ".", "|",
	"[", "]", "{", "~", "\x7f", "\x01", "\n", "\x1f", "é", "ß", "\u2028", "中", "😀",
}

func hrRandString(r *rand.Rand, maxLen int) string {
	var sb strings.Builder
	for i := r.Intn(maxLen + 1); i > 0; i-- {
		sb.WriteString(hrPieces[r.Intn(len(hrPieces))])
	}

	return sb.String()
}

// hrRandValue is a field value: mostly strings, sometimes arrays of strings, numbers, documents.
func hrRandValue(r *rand.Rand) any {
	switch r.Intn(10) {
	case 0:
		arr := types.MakeArray(3)
		for i := r.Intn(3); i >= 0; i-- {
			arr.Append(hrRandString(r, 5))
		}

		return arr
	case 1:
		return float64(r.Intn(100))
	case 2:
		return must.NotFail(types.NewDocument("x", hrRandString(r, 3)))
	default:
		return hrRandString(r, 6)
	}
}

type hrTable struct {
	db   *sql.DB
	docs []*types.Document
}

func hrOpenTable(t *testing.T, docs []*types.Document) *hrTable {
	t.Helper()

	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}

	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })

	// The table and indexes as FerretDB creates them (metadata/registry.go).
	for _, q := range []string{
		`CREATE TABLE "t" (_ferretdb_sjson TEXT NOT NULL CHECK(_ferretdb_sjson != '')) STRICT`,
		`CREATE UNIQUE INDEX "t__id_" ON "t" (_ferretdb_sjson->"_id")`,
		`CREATE INDEX "t_k" ON "t" (_ferretdb_sjson->"k")`,
	} {
		if _, err = db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	for _, doc := range docs {
		if _, err = db.Exec(`INSERT INTO "t" (_ferretdb_sjson) VALUES (?)`, string(must.NotFail(sjson.Marshal(doc)))); err != nil {
			t.Fatal(err)
		}
	}

	return &hrTable{db: db, docs: docs}
}

// ids runs the pushed-down WHERE clause of filter; pushed is false when nothing was pushed down.
func (tb *hrTable) ids(t *testing.T, filter *types.Document) (ids []string, pushed bool) {
	t.Helper()

	where, args := hrWhereClause(filter)
	if where == "" {
		return nil, false
	}

	rows, err := tb.db.Query(`SELECT _ferretdb_sjson->>'$._id' FROM "t"`+where, args...)
	if err != nil {
		t.Fatalf("%.200s (%d arguments): %v", where, len(args), err)
	}
	defer rows.Close()

	for rows.Next() {
		var id string
		if err = rows.Scan(&id); err != nil {
			t.Fatal(err)
		}

		ids = append(ids, id)
	}

	if err = rows.Err(); err != nil {
		t.Fatal(err)
	}

	return ids, true
}

// matching is FerretDB's own answer: the documents its Go filter matches.
func (tb *hrTable) matching(t *testing.T, filter *types.Document) []string {
	t.Helper()

	var ids []string

	for _, doc := range tb.docs {
		ok, err := common.FilterDocument(doc, filter)
		if err != nil {
			t.Fatal(err)
		}

		if ok {
			ids = append(ids, must.NotFail(doc.Get("_id")).(string))
		}
	}

	return ids
}

func hrMissing(want, got []string) []string {
	var missing []string

	for _, id := range want {
		if !slices.Contains(got, id) {
			missing = append(missing, id)
		}
	}

	return missing
}

func TestHRRangePushdownNeverMissesAMatch(t *testing.T) {
	r := rand.New(rand.NewSource(1))

	docs := make([]*types.Document, 2000)
	for i := range docs {
		docs[i] = must.NotFail(types.NewDocument("_id", fmt.Sprintf("%04d", i), "k", hrRandValue(r)))
	}

	// Documents whose _id is a string made of the same pieces, for ranges on _id.
	for i := 0; i < 500; i++ {
		docs = append(docs, must.NotFail(types.NewDocument("_id", fmt.Sprintf("x%04d%s", i, hrRandString(r, 5)))))
	}

	tb := hrOpenTable(t, docs)
	lower := []string{"$gte", "$gt"}
	upper := []string{"$lt", "$lte"}
	pushedCount := 0

	for i := 0; i < 2000; i++ {
		a, b := hrRandString(r, 4), hrRandString(r, 4)
		switch i % 4 {
		case 0: // a prefix range as the lookup keys use it
			b = a + "~"
		case 1: // bounds sharing a prefix
			p := hrRandString(r, 3)
			a, b = p+a, p+b
		case 2: // ranges on _id
			a, b = "x0"+a, "x"+string(rune('0'+r.Intn(2)))+b
		}

		field := "k"
		if strings.HasPrefix(a, "x") {
			field = "_id"
		}

		filter := must.NotFail(types.NewDocument(field, must.NotFail(types.NewDocument(lower[r.Intn(2)], a, upper[r.Intn(2)], b))))
		got, pushed := tb.ids(t, filter)

		if !pushed {
			continue
		}

		pushedCount++

		if missing := hrMissing(tb.matching(t, filter), got); len(missing) > 0 {
			t.Fatalf("%v: SQLite left out %v", filter, missing)
		}
	}

	if pushedCount < 800 {
		t.Fatalf("only %d of 2000 ranges were pushed down", pushedCount)
	}
}

func TestHRRangePushdownInOrAndAnd(t *testing.T) {
	docs := []*types.Document{
		must.NotFail(types.NewDocument("_id", "Patient.name rossi p1")),
		must.NotFail(types.NewDocument("_id", "Patient.name rossini p2")),
		must.NotFail(types.NewDocument("_id", "Patient.name ross p3")),
		must.NotFail(types.NewDocument("_id", "Patient.name smith p4")),
		must.NotFail(types.NewDocument("_id", "Patient.family rossi p5")),
	}
	tb := hrOpenTable(t, docs)

	rng := func(a, b string) *types.Document {
		return must.NotFail(types.NewDocument("_id", must.NotFail(types.NewDocument("$gte", a, "$lt", b))))
	}
	or := must.NotFail(types.NewDocument("$or", must.NotFail(types.NewArray(
		rng("Patient.name rossi", "Patient.name rossi~"),
		rng("Patient.name smith ", "Patient.name smith ~"),
	))))

	got, pushed := tb.ids(t, or)
	slices.Sort(got)

	if !pushed || !slices.Equal(got, []string{"Patient.name rossi p1", "Patient.name rossini p2", "Patient.name smith p4"}) {
		t.Fatalf("$or of ranges: pushed %v, got %v", pushed, got)
	}

	and := must.NotFail(types.NewDocument("$and", must.NotFail(types.NewArray(rng("Patient.name ross", "Patient.name ross~")))))
	got, _ = tb.ids(t, and)

	if len(got) != 3 {
		t.Fatalf("$and of a range: got %v", got)
	}
}

func TestHRRangePushdownShapesItLeavesAlone(t *testing.T) {
	for _, filter := range []*types.Document{
		must.NotFail(types.NewDocument("k", must.NotFail(types.NewDocument("$gte", "a")))),                  // one-sided
		must.NotFail(types.NewDocument("k", must.NotFail(types.NewDocument("$gte", "a", "$lt", int32(5))))), // not strings
		must.NotFail(types.NewDocument("k", must.NotFail(types.NewDocument("$gte", "a", "$ne", "b")))),      // other operators
		must.NotFail(types.NewDocument("k", must.NotFail(types.NewDocument("$gte", "é1", "$lt", "é2")))),    // common prefix not ASCII
		must.NotFail(types.NewDocument("k", must.NotFail(types.NewDocument("$gte", "a", "$lt", "aé")))),     // b continues beyond ASCII
		must.NotFail(types.NewDocument("$k", must.NotFail(types.NewDocument("$gte", "a", "$lt", "b")))),     // not a field
	} {
		if where, _ := hrWhereClause(filter); where != "" {
			t.Errorf("%v was pushed down: %s", filter, where)
		}
	}
}

// The lookup keys' ranges: safe ASCII prefixes answered exactly, through the index.
func TestHRPrefixRangeIsExactAndIndexed(t *testing.T) {
	var docs []*types.Document
	for _, v := range []string{"rossi", "rossini", "ross", "rosso", "ros", "rossi!", "rossi\"", "rossi\\", "rossi~", "rossi\x7f", "rossié", "rossi\u2028", "rosa", "rp"} {
		docs = append(docs, must.NotFail(types.NewDocument("_id", "k "+v, "k", "k "+v)))
	}

	docs = append(docs, must.NotFail(types.NewDocument("_id", "array", "k", must.NotFail(types.NewArray("k zzz", "k rossi")))))
	tb := hrOpenTable(t, docs)

	for _, field := range []string{"_id", "k"} {
		filter := must.NotFail(types.NewDocument(field, must.NotFail(types.NewDocument("$gte", "k rossi", "$lt", "k rossi~"))))
		got, _ := tb.ids(t, filter)
		want := tb.matching(t, filter)

		if missing := hrMissing(want, got); len(missing) > 0 {
			t.Fatalf("%s: missing %v", field, missing)
		}

		// Beyond FerretDB's answer SQLite returns only what the pushdown must keep: strings with
		// the prefix and characters past "~" (filtered in Go), and arrays.
		for _, id := range hrMissing(got, want) {
			if id != "k rossi~" && id != "k rossi\x7f" && id != "k rossié" && id != "k rossi\u2028" && id != "array" {
				t.Errorf("%s: returned %q", field, id)
			}
		}

		where, args := hrWhereClause(filter)

		var plan strings.Builder

		rows, err := tb.db.Query(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "t"`+where, args...)
		if err != nil {
			t.Fatal(err)
		}

		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err = rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}

			plan.WriteString(detail + "; ")
		}

		rows.Close()

		t.Logf("%s: %s", field, plan.String())

		if !strings.Contains(plan.String(), "USING INDEX") || strings.Contains(plan.String(), "SCAN t") {
			t.Errorf("%s: the range does not use the index: %s", field, plan.String())
		}
	}
}

// Large filters are pushed down only as far as SQLite takes them: the rest is left to the Go
// filter, never an SQL error ("too many SQL variables", "expression tree is too large").
func TestHRLargeFiltersStayWithinSQLiteLimits(t *testing.T) {
	var docs []*types.Document
	for i := 0; i < 50; i++ {
		docs = append(docs, must.NotFail(types.NewDocument("_id", fmt.Sprintf("id%d", i), "k", fmt.Sprintf("v%d", i%5))))
	}

	tb := hrOpenTable(t, docs)

	ids := func(n int) *types.Array {
		arr := types.MakeArray(n)
		for i := 0; i < n; i++ {
			arr.Append(fmt.Sprintf("id%d", i))
		}

		return arr
	}

	manyAnd := types.MakeArray(1000)
	for i := 0; i < 1000; i++ {
		manyAnd.Append(must.NotFail(types.NewDocument("_id", "id7")))
	}

	manyOr := types.MakeArray(1000)
	for i := 0; i < 1000; i++ {
		manyOr.Append(must.NotFail(types.NewDocument("k", fmt.Sprintf("v%d", i))))
	}

	manyIn := types.MakeArray(400)
	for i := 0; i < 400; i++ {
		manyIn.Append(must.NotFail(types.NewDocument("_id", must.NotFail(types.NewDocument("$in", ids(100))))))
	}

	for name, tc := range map[string]struct {
		filter *types.Document
		pushed bool
	}{
		"10,000 ids":              {must.NotFail(types.NewDocument("_id", must.NotFail(types.NewDocument("$in", ids(10000))))), true},
		"10,001 ids":              {must.NotFail(types.NewDocument("_id", must.NotFail(types.NewDocument("$in", ids(10001))))), false},
		"1,000 ANDed conditions":  {must.NotFail(types.NewDocument("$and", manyAnd)), true},
		"1,000 $or branches":      {must.NotFail(types.NewDocument("$or", manyOr)), false},
		"400 lists of 100 values": {must.NotFail(types.NewDocument("$and", manyIn)), true},
	} {
		got, pushed := tb.ids(t, tc.filter) // fails the test on an SQL error
		if pushed != tc.pushed {
			t.Errorf("%s: pushed down %v, want %v", name, pushed, tc.pushed)
		}

		if missing := hrMissing(tb.matching(t, tc.filter), got); pushed && len(missing) > 0 {
			t.Errorf("%s: SQLite left out %v", name, missing)
		}
	}
}

// An empty $in (the search's "no candidates") matches nothing, arrays included: pushed down as
// such, so that it is answered without reading the collection.
func TestHREmptyInMatchesNothing(t *testing.T) {
	tb := hrOpenTable(t, []*types.Document{
		must.NotFail(types.NewDocument("_id", "a", "k", "x")),
		must.NotFail(types.NewDocument("_id", "b", "k", must.NotFail(types.NewArray("x", "y")))),
		must.NotFail(types.NewDocument("_id", "c", "k", types.MakeArray(0))),
	})

	for _, field := range []string{"_id", "k"} {
		filter := must.NotFail(types.NewDocument(field, must.NotFail(types.NewDocument("$in", types.MakeArray(0)))))
		got, pushed := tb.ids(t, filter)

		if !pushed || len(got) != 0 || len(tb.matching(t, filter)) != 0 {
			t.Errorf("%s: pushed %v, SQLite returned %v, FerretDB matches %v", field, pushed, got, tb.matching(t, filter))
		}
	}
}
