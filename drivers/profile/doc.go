// Package profile reads device profiles (register maps plus default rules,
// DESIGN.md §4 and §8.1) and compiles them into request plans.
//
// The flow is load → validate → compile → decode:
//
//	set, err := profile.Load(cfg.ProfilesDir) // embedded + dir overrides; all problems at once
//	p, _ := set.Get("electrical-fire-1p")
//	plan, err := profile.Compile(p, profile.PlanOptions{})
//	// for each plan.Requests[i] of the groups due: read it from the bus (drivers/device)
//	samples, err := plan.Decode(responses) // nil responses: groups not due
//
// A plan groups its reads by poll interval ([Plan.Groups], fastest
// first): each point has one (its poll:, the profile's, or 1 s), every
// interval of a profile is a multiple of its fastest, and points of
// different intervals never share a read. The scheduler (gateway/sched)
// reads a group every interval/fastest turns of the device.
//
// Compile chooses every point's decoder once (type, byte order, scale,
// offset); decoding a sweep does no string work. [EncodeValue] is the
// inverse of decoding, for the simulator and for writes.
//
// The package knows nothing of rules: a profile's rules are kept as raw
// YAML nodes ([Profile.Rules]) for the gateway to decode into rules.Spec.
package profile
