// Package profile reads device profiles (register maps plus default rules,
// DESIGN.md §4 and §8.1) and compiles them into request plans.
//
// The flow is load → validate → compile → decode:
//
//	set, err := profile.Load(cfg.ProfilesDir) // embedded + dir overrides; all problems at once
//	p, _ := set.Get("electrical-fire-1p")
//	plan, err := profile.Compile(p, profile.PlanOptions{})
//	// for each plan.Requests[i]: read it from the bus (drivers/device)
//	samples, err := plan.Decode(responses)
//
// Compile chooses every point's decoder once (type, byte order, scale,
// offset); decoding a sweep does no string work. [EncodeValue] is the
// inverse of decoding, for the simulator and for writes.
//
// The package knows nothing of rules: a profile's rules are kept as raw
// YAML nodes ([Profile.Rules]) for the gateway to decode into rules.Spec.
package profile
