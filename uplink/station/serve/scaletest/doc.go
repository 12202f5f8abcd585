// Package scaletest holds the station's scale-out tests and load figures:
// `station serve` instances as child processes (the test binary run again)
// behind a real mosquitto shared subscription, writing to a real
// PostgreSQL (store/pgtest) or a SQLite file. It has no code of its own
// outside its tests.
package scaletest
