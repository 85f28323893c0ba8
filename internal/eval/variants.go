package eval

// HasVariant reports whether the flag key exists and has a variant named
// variant (for bool flags with implicit variants: "on" and "off"). It does
// not allocate.
func (rs *Ruleset) HasVariant(key, variant string) bool {
	if rs == nil {
		return false
	}
	f := rs.flags[key]
	if f == nil {
		return false
	}
	for i := range f.variants {
		if f.variants[i].key == variant {
			return true
		}
	}
	return false
}
