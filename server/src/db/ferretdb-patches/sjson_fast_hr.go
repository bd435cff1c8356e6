// Health-records server patch to FerretDB v1.24.2 (internal/handler/sjson), applied by
// server/src/db/local-database.ts before the local build.
//
// FerretDB's SQLite backend stores each document as "sjson": the JSON of the values plus a schema
// ("$s") of their BSON types. Its decoder (sjson.Unmarshal) re-parses every nested value with a
// fresh encoding/json Decoder: a value at depth d is scanned d times and every scalar costs a
// decoder allocation. Decoding was most of the database's CPU time for searches that return a few
// documents (a FHIR resource plus its search index block is ~5 KB of sjson, nested 5 levels).
//
// hrUnmarshal decodes the same format in one pass over the bytes. It only ever accepts input that
// it decodes exactly as the original does; anything unusual (escaped keys, duplicate keys, unknown
// schema fields, numbers the original would reject, ...) makes it give up, and Unmarshal then runs
// the original decoder, which also produces the original errors. Strings with escapes are decoded by
// encoding/json itself. sjson_fast_hr_test.go cross-checks both decoders.
package sjson

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/FerretDB/FerretDB/internal/types"
)

// Unmarshal decodes sjson bytes into a document (the original decoder is unmarshalOriginal).
func Unmarshal(data []byte) (*types.Document, error) {
	if doc, ok := hrUnmarshal(data); ok {
		return doc, nil
	}

	return unmarshalOriginal(data)
}

// hrSchema is a document schema: property schemas in "$k" order.
type hrSchema struct {
	keys  []string
	elems []*hrElem // elems[i] is the schema of keys[i]; nil when "p" has none for it
}

// hrElem is the schema of one value.
type hrElem struct {
	t       string
	schema  *hrSchema // object
	items   []*hrElem // array
	options string    // regex
	subtype types.BinarySubtype
}

type hrField struct {
	key []byte // raw key bytes (never escaped: keys with backslashes make the parse give up)
	val []byte
}

// Parsed schemas by their JSON text: documents of one collection mostly share a few shapes, so the
// schema (about half of the stored bytes) is parsed once. Parsed schemas are never modified.
var (
	hrSchemaCacheM sync.Mutex
	hrSchemaCache  = make(map[string]*hrSchema)
)

const hrSchemaCacheMax = 1024

func hrCachedSchema(raw []byte) (*hrSchema, bool) {
	hrSchemaCacheM.Lock()
	sch, hit := hrSchemaCache[string(raw)]
	hrSchemaCacheM.Unlock()

	if hit {
		return sch, true
	}

	sch, ok := hrParseSchema(raw)
	if !ok {
		return nil, false
	}

	hrSchemaCacheM.Lock()
	if len(hrSchemaCache) >= hrSchemaCacheMax {
		clear(hrSchemaCache)
	}
	hrSchemaCache[string(raw)] = sch
	hrSchemaCacheM.Unlock()

	return sch, true
}

// index returns the position of key in the schema (-1 if absent), trying hint first: values are
// stored in schema order.
func (sch *hrSchema) index(key []byte, hint int) int {
	if hint < len(sch.keys) && sch.keys[hint] == string(key) {
		return hint
	}

	for n, k := range sch.keys {
		if k == string(key) {
			return n
		}
	}

	return -1
}

// hrUnmarshal decodes a stored document: {"$s": <schema>, <fields in schema order>}. The encoder
// always writes "$s" first; other layouts are left to the original decoder.
func hrUnmarshal(data []byte) (*types.Document, bool) {
	i, done, ok := hrOpen(data, hrWS(data, 0), '{', '}')
	if !ok || done {
		return nil, false
	}

	key, i, ok := hrKey(data, i)
	if !ok || string(key) != "$s" {
		return nil, false
	}

	end, ok := hrSkip(data, i)
	if !ok {
		return nil, false
	}

	sch, ok := hrCachedSchema(data[i:end])
	if !ok {
		return nil, false
	}

	i, done, ok = hrNext(data, end, '}')
	if !ok {
		return nil, false
	}

	doc, end, ok := hrFields(data, i, done, sch, true)
	if !ok || end != len(data) { // the original rejects even trailing whitespace
		return nil, false
	}

	return doc, true
}

// hrKey reads an object key at data[i] and the colon after it; it returns the key and the index of
// the value. Keys with escapes, control characters or invalid UTF-8 make it give up.
func hrKey(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}

	j := i + 1
	for j < len(data) && data[j] != '"' {
		if data[j] == '\\' || data[j] < 0x20 {
			return nil, 0, false
		}

		j++
	}

	if j >= len(data) || !utf8.Valid(data[i+1:j]) {
		return nil, 0, false
	}

	key := data[i+1 : j]

	j = hrWS(data, j+1)
	if j >= len(data) || data[j] != ':' {
		return nil, 0, false
	}

	return key, hrWS(data, j+1), true
}

// hrFields decodes the fields of an object, the first at data[i] (none when done: i is then
// after the '}'), and returns the document in schema key order and the index after the '}'. top
// marks the stored document itself, whose "$s" field was consumed.
func hrFields(data []byte, i int, done bool, sch *hrSchema, top bool) (*types.Document, int, bool) {
	var slots []any
	n := 0

	for !done {
		key, j, ok := hrKey(data, i)
		if !ok {
			return nil, 0, false
		}

		idx := sch.index(key, n)
		if idx < 0 {
			return nil, 0, false
		}

		if slots == nil {
			slots = make([]any, len(sch.keys))
		}

		if slots[idx] != nil { // duplicate key
			return nil, 0, false
		}

		v, end, ok := hrValueAt(data, j, sch.elems[idx])
		if !ok {
			return nil, 0, false
		}

		slots[idx] = v
		n++

		if i, done, ok = hrNext(data, end, '}'); !ok {
			return nil, 0, false
		}
	}

	if n == 0 {
		// The original returns an empty nested document whatever its schema says; the stored
		// document itself must match its schema's key count.
		if top && len(sch.keys) != 0 {
			return nil, 0, false
		}

		return types.MakeDocument(0), i, true
	}

	if n != len(sch.keys) {
		return nil, 0, false
	}

	doc := types.MakeDocument(n)
	for k, key := range sch.keys {
		doc.Set(key, slots[k])
	}

	return doc, i, true
}

// hrValueAt decodes the value at data[i] with its schema and returns it and the index after it.
func hrValueAt(data []byte, i int, el *hrElem) (any, int, bool) {
	if i >= len(data) {
		return nil, 0, false
	}

	switch data[i] {
	case '{':
		if el == nil || el.t != "object" {
			return nil, 0, false
		}

		first, done, ok := hrOpen(data, i, '{', '}')
		if !ok {
			return nil, 0, false
		}

		return hrFields(data, first, done, el.schema, false)

	case '[':
		if el == nil || el.t != "array" {
			return nil, 0, false
		}

		arr := types.MakeArray(len(el.items))

		i, done, ok := hrOpen(data, i, '[', ']')
		for n := 0; ok && !done; n++ {
			if n >= len(el.items) {
				return nil, 0, false
			}

			var v any
			var end int
			if v, end, ok = hrValueAt(data, i, el.items[n]); !ok {
				return nil, 0, false
			}

			arr.Append(v)
			i, done, ok = hrNext(data, end, ']')
		}

		if !ok || arr.Len() != len(el.items) {
			return nil, 0, false
		}

		return arr, i, true
	}

	end, ok := hrSkip(data, i)
	if !ok {
		return nil, 0, false
	}

	v, ok := hrScalar(data[i:end], el)
	if !ok {
		return nil, 0, false
	}

	return v, end, true
}

// hrScalar decodes a scalar JSON value (or null) with its schema.
func hrScalar(raw []byte, el *hrElem) (any, bool) {
	if string(raw) == "null" {
		return types.Null, true
	}

	if el == nil {
		return nil, false
	}

	switch el.t {
	case "string":
		str, ok := hrString(raw)
		return str, ok

	case "double":
		if !hrIsNumber(raw) {
			return nil, false
		}

		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return nil, false
		}

		return f, true

	case "int":
		if n, ok := hrInt(raw, 32); ok {
			return int32(n), true
		}

		return nil, false

	case "long":
		if n, ok := hrInt(raw, 64); ok {
			return n, true
		}

		return nil, false

	case "date":
		if n, ok := hrInt(raw, 64); ok {
			return time.UnixMilli(n), true
		}

		return nil, false

	case "timestamp":
		if !hrIsInteger(raw) || raw[0] == '-' {
			return nil, false
		}

		n, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return nil, false
		}

		return types.Timestamp(n), true

	case "bool":
		switch string(raw) {
		case "true":
			return true, true
		case "false":
			return false, true
		}

		return nil, false

	case "objectId":
		s, ok := hrString(raw)
		if !ok {
			return nil, false
		}

		b, err := hex.DecodeString(s)
		if err != nil || len(b) != types.ObjectIDLen {
			return nil, false
		}

		var id types.ObjectID
		copy(id[:], b)

		return id, true

	case "binData":
		var b []byte
		if err := json.Unmarshal(raw, &b); err != nil || b == nil && string(raw) != `""` {
			return nil, false
		}

		return types.Binary{B: b, Subtype: el.subtype}, true

	case "regex":
		s, ok := hrString(raw)
		if !ok {
			return nil, false
		}

		return types.Regex{Pattern: s, Options: el.options}, true
	}

	return nil, false
}

// hrString decodes a JSON string literal; plain ones directly, escaped ones with encoding/json.
func hrString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}

	inner := raw[1 : len(raw)-1]
	plain := true

	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			plain = false
			break
		}
	}

	if plain && utf8.Valid(inner) {
		return string(inner), true
	}

	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}

	return s, true
}

// hrWholeObject parses raw as one JSON object and nothing after it.
func hrWholeObject(raw []byte) ([]hrField, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}

	fields, end, ok := hrObject(raw, 0)

	return fields, ok && end == len(raw)
}

// hrParseSchema parses a document schema {"p": {...}, "$k": [...]}.
func hrParseSchema(raw []byte) (*hrSchema, bool) {
	fields, ok := hrWholeObject(raw)
	if !ok {
		return nil, false
	}

	var props, keys []byte

	for _, f := range fields {
		switch string(f.key) {
		case "p":
			props = f.val
		case "$k":
			keys = f.val
		default:
			return nil, false
		}
	}

	sch := &hrSchema{}

	if keys == nil || props == nil {
		// the original accepts an empty schema only for empty documents
		if keys == nil && props == nil {
			return sch, true
		}

		return nil, false
	}

	keyVals, end, ok := hrArray(keys, 0)
	if !ok || end != len(keys) {
		return nil, false
	}

	propFields, end, ok := hrObject(props, 0)
	if !ok || end != len(props) {
		return nil, false
	}

	// Every property schema is parsed (the original decodes them all, so a bad one is an error
	// even when no key uses it).
	propElems := make([]*hrElem, len(propFields))

	for n, pf := range propFields {
		if propElems[n], ok = hrParseElem(pf.val); !ok {
			return nil, false
		}
	}

	sch.keys = make([]string, len(keyVals))
	sch.elems = make([]*hrElem, len(keyVals))

	for n, kv := range keyVals {
		s, ok := hrString(kv)
		if !ok {
			return nil, false
		}

		key := s

		for _, prev := range sch.keys[:n] {
			if prev == key {
				return nil, false
			}
		}

		sch.keys[n] = key

		for m, pf := range propFields {
			if string(pf.key) == key {
				sch.elems[n] = propElems[m]
				break
			}
		}
	}

	return sch, true
}

// hrParseElem parses a value schema {"t": ..., "$s"|"i"|"o"|"s": ...}.
func hrParseElem(raw []byte) (*hrElem, bool) {
	fields, ok := hrWholeObject(raw)
	if !ok {
		return nil, false
	}

	el := &hrElem{}
	var hasType, hasSchema, hasItems, hasOptions, hasSubtype bool

	for _, f := range fields {
		switch string(f.key) {
		case "t":
			s, ok := hrString(f.val)
			if !ok {
				return nil, false
			}

			el.t = s
			hasType = true

		case "$s":
			sch, ok := hrParseSchema(f.val)
			if !ok {
				return nil, false
			}

			el.schema = sch
			hasSchema = true

		case "i":
			items, end, ok := hrArray(f.val, 0)
			if !ok || end != len(f.val) {
				return nil, false
			}

			el.items = make([]*hrElem, len(items))

			for n, it := range items {
				if el.items[n], ok = hrParseElem(it); !ok {
					return nil, false
				}
			}

			hasItems = true

		case "o":
			s, ok := hrString(f.val)
			if !ok {
				return nil, false
			}

			el.options = s
			hasOptions = true

		case "s":
			if !hrIsInteger(f.val) {
				return nil, false
			}

			n, err := strconv.ParseUint(string(f.val), 10, 8)
			if err != nil {
				return nil, false
			}

			el.subtype = types.BinarySubtype(n)
			hasSubtype = true

		default:
			return nil, false
		}
	}

	// Only the shapes the encoder writes; anything else goes to the original decoder.
	switch {
	case !hasType:
		return nil, false
	case el.t == "object" && (!hasSchema || hasItems || hasOptions || hasSubtype):
		return nil, false
	case el.t == "array" && (!hasItems || hasSchema || hasOptions || hasSubtype):
		return nil, false
	case el.t == "regex" && (!hasOptions || hasSchema || hasItems || hasSubtype):
		return nil, false
	case el.t == "binData" && (!hasSubtype || hasSchema || hasItems || hasOptions):
		return nil, false
	case el.t != "object" && el.t != "array" && el.t != "regex" && el.t != "binData" &&
		(hasSchema || hasItems || hasOptions || hasSubtype):
		return nil, false
	}

	return el, true
}

// hrObject splits the object starting at data[i] into its fields (used for schemas); it gives up
// on escaped or duplicate keys. It returns the index after the closing brace.
func hrObject(data []byte, i int) ([]hrField, int, bool) {
	fields := make([]hrField, 0, 8)

	i, done, ok := hrOpen(data, i, '{', '}')
	for ok && !done {
		var key []byte
		if key, i, ok = hrKey(data, i); !ok {
			return nil, 0, false
		}

		for _, f := range fields {
			if string(f.key) == string(key) {
				return nil, 0, false
			}
		}

		var end int
		if end, ok = hrSkip(data, i); !ok {
			return nil, 0, false
		}

		fields = append(fields, hrField{key: key, val: data[i:end]})
		i, done, ok = hrNext(data, end, '}')
	}

	if !ok {
		return nil, 0, false
	}

	return fields, i, true
}

// hrArray splits the array starting at data[i] into its values.
func hrArray(data []byte, i int) ([][]byte, int, bool) {
	vals := make([][]byte, 0, 4)

	i, done, ok := hrOpen(data, i, '[', ']')
	for ok && !done {
		var end int
		if end, ok = hrSkip(data, i); !ok {
			return nil, 0, false
		}

		vals = append(vals, data[i:end])
		i, done, ok = hrNext(data, end, ']')
	}

	if !ok {
		return nil, 0, false
	}

	return vals, i, true
}

// hrOpen starts a list (object or array) whose opener is at data[i]: it returns the index of the
// first item, or done (with the index after the closer) when the list is empty.
func hrOpen(data []byte, i int, opener, closer byte) (next int, done, ok bool) {
	if i >= len(data) || data[i] != opener {
		return 0, false, false
	}

	i = hrWS(data, i+1)
	if i < len(data) && data[i] == closer {
		return i + 1, true, true
	}

	return i, false, true
}

// hrNext moves on from a list item that ends at data[end]: to the next item after a comma, or,
// done, past the list's closer.
func hrNext(data []byte, end int, closer byte) (next int, done, ok bool) {
	i := hrWS(data, end)
	switch {
	case i >= len(data):
		return 0, false, false
	case data[i] == closer:
		return i + 1, true, true
	case data[i] == ',':
		return hrWS(data, i+1), false, true
	default:
		return 0, false, false
	}
}

// hrSkip returns the index just after the JSON value starting at data[i]. Nested values are
// checked again when they are decoded; here they only need to be delimited correctly.
func hrSkip(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}

	switch c := data[i]; {
	case c == '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}

		return 0, false

	case c == '{' || c == '[':
		depth := 0

		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, ok := hrSkip(data, j)
				if !ok {
					return 0, false
				}

				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}

		return 0, false

	default:
		j := i
		for j < len(data) && data[j] != ',' && data[j] != '}' && data[j] != ']' &&
			data[j] != ' ' && data[j] != '\t' && data[j] != '\n' && data[j] != '\r' {
			j++
		}

		if j == i {
			return 0, false
		}

		return j, true
	}
}

func hrWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}

	return i
}

// hrIsInteger reports whether raw is a JSON number without fraction or exponent.
func hrIsInteger(raw []byte) bool {
	return hrIsNumber(raw) && !bytes.ContainsAny(raw, ".eE")
}

// hrInt parses raw as a JSON integer that fits in bits.
func hrInt(raw []byte, bits int) (int64, bool) {
	if !hrIsInteger(raw) {
		return 0, false
	}

	n, err := strconv.ParseInt(string(raw), 10, bits)

	return n, err == nil
}

// hrIsNumber reports whether raw is a JSON number (RFC 8259 grammar).
func hrIsNumber(raw []byte) bool {
	i := 0
	if i < len(raw) && raw[i] == '-' {
		i++
	}

	if i >= len(raw) {
		return false
	}

	if raw[i] == '0' {
		i++
	} else {
		if raw[i] < '1' || raw[i] > '9' {
			return false
		}

		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
	}

	if i < len(raw) && raw[i] == '.' {
		i++
		if i >= len(raw) || raw[i] < '0' || raw[i] > '9' {
			return false
		}

		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
	}

	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}

		if i >= len(raw) || raw[i] < '0' || raw[i] > '9' {
			return false
		}

		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
	}

	return i == len(raw)
}
