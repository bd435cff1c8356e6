// Health-records server patch to FerretDB v1.24.2: cross-checks the one-pass sjson decoder
// (sjson_fast_hr.go) against FerretDB's original one. Run them with:
//
//	npm run check:ferretdb -- --fuzz 60s [--sqlite <file.sqlite>]
//
// HR_SJSON_SQLITE=<file.sqlite> also decodes every stored document of that database both ways.
package sjson

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/internal/types"

	_ "modernc.org/sqlite"
)

// hrCheck decodes data both ways: when the fast decoder accepts it, the original must accept it
// and give the same document; when the original accepts well-formed input, so must the fast one.
func hrCheck(tb testing.TB, data []byte, mustAccept bool) {
	tb.Helper()

	fast, ok := hrUnmarshal(data)
	orig, err := unmarshalOriginal(data)

	if !ok {
		if mustAccept {
			tb.Fatalf("fast decoder gave up on %s (original: %v)", data, err)
		}

		return
	}

	if err != nil {
		tb.Fatalf("fast decoder accepted %s, original failed: %v", data, err)
	}

	if a, b := hrCanon(tb, fast), hrCanon(tb, orig); a != b {
		tb.Fatalf("decoders disagree on %s:\nfast: %s\norig: %s", data, a, b)
	}
}

// hrCanon renders a document with every type and value visible (sjson itself drops nothing).
func hrCanon(tb testing.TB, doc *types.Document) string {
	tb.Helper()

	b, err := Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}

	var sb strings.Builder
	sb.Write(b)
	hrDescribe(&sb, doc)

	return sb.String()
}

func hrDescribe(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case *types.Document:
		sb.WriteString("{")
		for _, k := range v.Keys() {
			val, _ := v.Get(k)
			fmt.Fprintf(sb, "%q:", k)
			hrDescribe(sb, val)
			sb.WriteString(",")
		}
		sb.WriteString("}")
	case *types.Array:
		sb.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			val, _ := v.Get(i)
			hrDescribe(sb, val)
			sb.WriteString(",")
		}
		sb.WriteString("]")
	case time.Time:
		fmt.Fprintf(sb, "date(%d,%s)", v.UnixMilli(), v.Location())
	case float64:
		fmt.Fprintf(sb, "double(%v,%v)", math.Float64bits(v), v)
	default:
		fmt.Fprintf(sb, "%T(%#v)", v, v)
	}
}

var hrStrings = []string{
	"", "plain", "Mei Helen Rossi", "http://loinc.org|2345-7", "<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b</div>",
	"tab\there", "line\nbreak", "quote\"and\\backslash", "ünïcödé", "日本語", "emoji 😀", "\u2028\u2029", "\x01ctl",
	"$where", "{\"$gt\":\"\"}", ".*", "a.b.c",
}

func hrRandomValue(r *rand.Rand, depth int) any {
	n := 12
	if depth > 4 {
		n = 10 // no more nesting
	}

	switch r.Intn(n) {
	case 0:
		return hrStrings[r.Intn(len(hrStrings))]
	case 1:
		return []float64{0, 1.5, -2.25, 1e300, -1e-300, 123456789.125, math.Copysign(0, -1), 42}[r.Intn(8)]
	case 2:
		return []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 50}[r.Intn(6)]
	case 3:
		return []int64{0, -5, math.MaxInt64, math.MinInt64, 1 << 40}[r.Intn(5)]
	case 4:
		return r.Intn(2) == 0
	case 5:
		return time.UnixMilli(r.Int63n(4e12) - 1e12)
	case 6:
		return types.Null
	case 7:
		return types.ObjectID{byte(r.Intn(256)), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, byte(r.Intn(256))}
	case 8:
		return types.Binary{B: []byte(hrStrings[r.Intn(len(hrStrings))]), Subtype: types.BinarySubtype([]byte{0, 4, 128}[r.Intn(3)])}
	case 9:
		if r.Intn(2) == 0 {
			return types.Timestamp(r.Uint64())
		}

		return types.Regex{Pattern: hrStrings[r.Intn(len(hrStrings))], Options: []string{"", "i", "imx"}[r.Intn(3)]}
	case 10:
		return hrRandomDoc(r, depth+1)
	default:
		arr := types.MakeArray(0)
		for i := r.Intn(4); i > 0; i-- {
			arr.Append(hrRandomValue(r, depth+1))
		}

		return arr
	}
}

func hrRandomDoc(r *rand.Rand, depth int) *types.Document {
	doc := types.MakeDocument(0)
	for i := r.Intn(6); i > 0; i-- {
		key := []string{"a", "b", "resource", "sp", "code", "c", "sc", "lo", "hi", "0", "1", "t0", "ünï", "k k", "$k", "p", "t", "i", "s", "o"}[r.Intn(20)]
		if !doc.Has(key) {
			doc.Set(key, hrRandomValue(r, depth))
		}
	}

	return doc
}

// hrNoise are the bytes damaged copies get: JSON's structural characters and a few others.
const hrNoise = "{}[]\",:0-9.eEtfnul\\ x+"

func TestHRUnmarshalRandomDocuments(t *testing.T) {
	r := rand.New(rand.NewSource(1))

	for i := 0; i < 20000; i++ {
		doc := hrRandomDoc(r, 0)
		doc.Set("_id", fmt.Sprintf("id%d", i))

		data, err := Marshal(doc)
		if err != nil {
			continue // e.g. values sjson cannot store
		}

		hrCheck(t, data, true)

		// The same document, reformatted with whitespace, must decode the same way too.
		var indented bytes.Buffer
		if err := json.Indent(&indented, data, "", "  "); err == nil {
			hrCheck(t, indented.Bytes(), true)
		}

		// Damaged copies: whatever the fast decoder accepts, the original must accept identically.
		for j := 0; j < 8; j++ {
			bad := append([]byte(nil), data...)
			pos := r.Intn(len(bad))

			switch r.Intn(3) {
			case 0:
				bad[pos] = hrNoise[r.Intn(len(hrNoise))]
			case 1:
				bad = append(bad[:pos], bad[pos+1:]...)
			default:
				bad = append(bad[:pos], append([]byte{hrNoise[r.Intn(len(hrNoise))]}, bad[pos:]...)...)
			}

			hrCheck(t, bad, false)
		}
	}
}

func TestHRUnmarshalHandWritten(t *testing.T) {
	for _, tc := range []struct {
		json   string
		accept bool
	}{
		{`{"$s":{}}`, true},
		{`{"$s":{"p":{"foo":{"t":"string"}},"$k":["foo"]},"foo":"bar"}`, true},
		{` { "$s" : { "p" : { "n" : { "t" : "int" } } , "$k" : [ "n" ] } , "n" : -0 }`, true},
		{`{"$s":{"p":{"n":{"t":"int"}},"$k":["n"]},"n":1} `, false},
		{`{"$s":{"p":{"n":{"t":"int"}},"$k":["n"]},"n":2147483648}`, false},
		{`{"$s":{"p":{"n":{"t":"int"}},"$k":["n"]},"n":1.0}`, false},
		{`{"$s":{"p":{"n":{"t":"double"}},"$k":["n"]},"n":1e400}`, false},
		{`{"$s":{"p":{"n":{"t":"double"}},"$k":["n"]},"n":01}`, false},
		{`{"$s":{"p":{"n":{"t":"long"}},"$k":["n"]},"n":null}`, true},
		{`{"$s":{"p":{"n":{"t":"timestamp"}},"$k":["n"]},"n":-1}`, false},
		{`{"$s":{"p":{"a":{"t":"string"}},"$k":["a","a"]},"a":"x","b":"y"}`, false},
		{`{"$s":{"p":{"a":{"t":"string"}},"$k":["a"]},"a":"x","a":"y"}`, false},
		{`{"$s":{"p":{"a":{"t":"string","x":1}},"$k":["a"]},"a":"x"}`, false},
		{`{"$s":{"p":{"a":{"t":"string"},"z":{"t":"bogus"}},"$k":["a"]},"a":"x"}`, false},
		{`{"$s":{"p":{"a":{"t":"array","i":[]}},"$k":["a"]},"a":[]}`, true},
		{`{"$s":{"p":{"a":{"t":"array"}},"$k":["a"]},"a":[]}`, false},
		{`{"$s":{"p":{"a":{"t":"object","$s":{}}},"$k":["a"]},"a":{}}`, true},
		{`{"$s":{"p":{"a":{"t":"string"}},"$k":["a"]},"a":"\u00e9\ud83d\ude00\"\\"}`, true},
		{`{"$s":{"p":{"a":{"t":"string"}},"$k":["a"]},"a":"x"} trailing`, false},
		{`{"$s":{"p":{"a\u0062":{"t":"string"}},"$k":["ab"]},"ab":"x"}`, false},
	} {
		hrCheck(t, []byte(tc.json), tc.accept)
	}
}

func FuzzHRUnmarshal(f *testing.F) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 50; i++ {
		if data, err := Marshal(hrRandomDoc(r, 0)); err == nil {
			f.Add(data)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		hrCheck(t, data, false)
	})
}

// TestHRUnmarshalSQLite decodes every document stored in a FerretDB SQLite file both ways.
func TestHRUnmarshalSQLite(t *testing.T) {
	file := os.Getenv("HR_SJSON_SQLITE")
	if file == "" {
		t.Skip("HR_SJSON_SQLITE not set")
	}

	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	rows, err := db.Query(`SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		t.Fatal(err)
	}

	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()

	total := 0
	for _, table := range tables {
		docs, err := db.Query(`SELECT _ferretdb_sjson FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}

		for docs.Next() {
			var s string
			if err := docs.Scan(&s); err != nil {
				t.Fatal(err)
			}

			hrCheck(t, []byte(s), true)
			total++
		}
		docs.Close()
	}

	t.Logf("%d documents in %d collections decode identically", total, len(tables))
}

func BenchmarkHRUnmarshal(b *testing.B) {
	doc := hrRandomDoc(rand.New(rand.NewSource(3)), 0)
	data, err := Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("fast", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, ok := hrUnmarshal(data); !ok {
				b.Fatal("gave up")
			}
		}
	})
	b.Run("original", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := unmarshalOriginal(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
