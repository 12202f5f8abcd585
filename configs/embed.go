// Package configs holds the files fenghuo ships inside its binary: the
// device profiles of DESIGN.md §4 and §8.1.
//
// go:embed cannot reach "../", so the embedding lives here, next to the
// files; drivers/profile reads them through [Profiles].
package configs

import "embed"

// Profiles holds every shipped device profile as profiles/<name>.yaml.
// The files are data (register maps and default rules); an installer adds
// or overrides one by dropping a file into the config's profiles_dir.
//
//go:embed profiles/*.yaml
var Profiles embed.FS
