package envelope

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical writes v as canonical JSON (docs/envelope.md): what Python's json.dumps(v, sort_keys=True,
// separators=(",", ":"), ensure_ascii=True) writes. The signature and the AES-GCM associated data are over
// these exact bytes, so encoding/json (which escapes <, >, & and leaves non-ASCII as UTF-8) cannot be used.
// v may hold map[string]any, []any, []string, map[string]string, string, bool, nil, int, int64 and integer
// json.Number; anything else (floats above all) is an error, since no float appears in an envelope.
func Canonical(v any) ([]byte, error) {
	return appendValue(nil, v)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("canonical JSON: %q is not an integer", x)
		}
		return strconv.AppendInt(b, n, 10), nil
	case string:
		return appendString(b, x)
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendString(b, s); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return appendValue(b, m)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		// Byte order of valid UTF-8 is code-point order, which is what Python sorts str keys by.
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendValue(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("canonical JSON: unsupported value of type %T", v)
}

const hexDigits = "0123456789abcdef" // lower case, as Python writes \uXXXX

func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		// Python would have refused these bytes when parsing; silently substituting U+FFFD would sign other text.
		return nil, fmt.Errorf("canonical JSON: string is not valid UTF-8")
	}
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r >= 0x20 && r <= 0x7e: // printable ASCII, '/' included, is written as is
			b = append(b, byte(r))
		case r > 0xffff: // beyond the BMP: a UTF-16 surrogate pair, as Python's ensure_ascii does
			hi, lo := utf16.EncodeRune(r)
			b = appendU(appendU(b, hi), lo)
		default: // other control characters, DEL and everything else outside ASCII
			b = appendU(b, r)
		}
	}
	return append(b, '"'), nil
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
