package tidy

import (
	"math"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tab := Table{Fields: []string{"name", "n", "x", "ok"}}
	tab.Add("a,b", 3, 0.123456789, true)
	tab.Add(nil, -1, math.NaN(), false)
	tab.Add("c", 0, float32(2.5), nil)
	for _, tc := range []struct{ format, want string }{
		{"json", `{"name":"a,b","n":3,"x":0.123456789,"ok":true}
{"name":null,"n":-1,"x":null,"ok":false}
{"name":"c","n":0,"x":2.5,"ok":null}
`},
		{"csv", `name,n,x,ok
"a,b",3,0.123456789,true
,-1,NaN,false
c,0,2.5,
`},
	} {
		var b strings.Builder
		if err := tab.Write(&b, tc.format); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.format, b.String(), tc.want)
		}
	}
	var b strings.Builder
	if err := tab.Write(&b, "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 7 || !strings.Contains(lines[3], "0.1235") || !strings.Contains(lines[4], "NaN") {
		t.Errorf("table:\n%s\nwant 3 rows in a box, floats to 4 digits", b.String())
	}
	if err := tab.Write(&b, "xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("format xml: error %v, want one naming it", err)
	}
}
