// Package figure draws the analysis results of package analysis as PNG
// figures: layer × head heatmaps (Heads), quantities over a training series
// (Series) and calibrated zeroing curves (Zeroing). The same inputs give the
// same bytes.
package figure

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot/vg/vgimg"
)

// encode returns the PNG bytes of a drawn image.
func encode(img *vgimg.Canvas) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("figure: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}
