package hooks

// Interventions change what a forward pass computes. Each returns the point to
// hook and the Func to register there, e.g.
//
//	var s hooks.Set
//	s.Add(hooks.ZeroHead(16, 25))

// ZeroHead zeroes head h's output (its slice of hook_z) in layer l, so the head
// writes nothing into the residual stream.
func ZeroHead(l, h int) (Point, Func) { return ScaleHead(l, h, 0) }

// ScaleHead multiplies head h's output (its slice of hook_z) in layer l by s.
func ScaleHead(l, h int, s float32) (Point, Func) {
	return At(l, Z), func(_ Point, t Tensor) {
		// t.Shape is [T, H, d_head].
		T, H, dh := t.Shape[0], t.Shape[1], t.Shape[2]
		for i := 0; i < T; i++ {
			row := t.Data[(i*H+h)*dh : (i*H+h+1)*dh]
			for j := range row {
				row[j] *= s
			}
		}
	}
}

// ForceFirstKey replaces head h's attention pattern in layer l by a one-hot on
// key 0 for every query, the paper's "move attention to BOS" intervention.
func ForceFirstKey(l, h int) (Point, Func) {
	return At(l, Pattern), func(_ Point, t Tensor) {
		// t.Shape is [H, T, T].
		T := t.Shape[1]
		m := t.Data[h*T*T : (h+1)*T*T]
		for i := 0; i < T; i++ {
			row := m[i*T : (i+1)*T]
			for j := range row {
				row[j] = 0
			}
			row[0] = 1
		}
	}
}

// ZeroAttention zeroes layer l's attention output (hook_attn_out).
func ZeroAttention(l int) (Point, Func) { return At(l, AttnOut), zero }

// ZeroMLP zeroes layer l's MLP output (hook_mlp_out).
func ZeroMLP(l int) (Point, Func) { return At(l, MLPOut), zero }

func zero(_ Point, t Tensor) {
	for i := range t.Data {
		t.Data[i] = 0
	}
}
