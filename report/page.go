package report

import (
	"bufio"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"sort"
)

//go:embed assets/page.css
var pageCSS string

//go:embed assets/page.js
var pageJS string

//go:embed assets/body.html
var pageBody string

// Page is everything the report shows. Its JSON is embedded in the HTML
// file; the samples' binary arrays follow it as base64 blocks.
type Page struct {
	Title   string   `json:"title"`
	Model   string   `json:"model"`
	Arch    string   `json:"arch"`
	Layers  int      `json:"layers"`
	Heads   int      `json:"heads"`
	Metrics []Metric `json:"metrics"`
	// Rule, Dormant and Active are the classification the page opens with.
	Rule    string   `json:"rule"`
	Dormant Num      `json:"dormant"`
	Active  Num      `json:"active"`
	Domains []Grid   `json:"domains"`
	Steps   []Step   `json:"steps"`
	Samples []Sample `json:"samples"`
	// Quantisation states how the stored patterns and norms relate to the
	// model's values.
	Quantisation string `json:"quantisation"`
}

// quantisationNote is the statement the page shows.
const quantisationNote = "Attention patterns are stored as 8-bit integers q = round(255·p) and shown as q/255: " +
	"a step of 1/255 ≈ 0.00392, so a shown value is within 1/510 ≈ 0.00196 of the model's. " +
	"Value norms per key are stored as 8 bits of the head's largest norm on the sequence (step: that norm / 255). " +
	"Grid numbers and token statistics are float32."

// WriteHTML writes the page as one self-contained HTML document. The bytes
// depend only on p.
func (p *Page) WriteHTML(w io.Writer) error {
	data, err := json.Marshal(p) // escapes <, > and &, so the JSON cannot close its script element
	if err != nil {
		return fmt.Errorf("report: encoding the page data: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	title := html.EscapeString(p.Title)
	fmt.Fprintf(bw, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"+
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", title, pageCSS)
	bw.WriteString(pageBody)
	bw.WriteString("<script type=\"application/json\" id=\"report-data\">")
	bw.Write(data)
	bw.WriteString("</script>\n")
	for i, s := range p.Samples {
		names := make([]string, 0, len(s.blobs))
		for n := range s.blobs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(bw, "<script type=\"application/octet-stream\" id=\"blob-%d-%s\">", i, n)
			enc := base64.NewEncoder(base64.StdEncoding, bw)
			enc.Write(s.blobs[n])
			enc.Close()
			bw.WriteString("</script>\n")
		}
	}
	fmt.Fprintf(bw, "<script>\n%s</script>\n</body>\n</html>\n", pageJS)
	return bw.Flush()
}
