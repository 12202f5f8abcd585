package serve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// AddUser creates (or resets the password of) an account in the station
// database at db.
func AddUser(ctx context.Context, db, name, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("station user add %s: %w", name, err)
	}
	st, err := store.OpenSQLite(db)
	if err != nil {
		return err
	}
	return errors.Join(st.PutUser(ctx, name, hash, time.Now()), st.Close())
}

// NewToken creates an API token for an existing user and returns it; only
// its hash is kept, so it is shown once.
func NewToken(ctx context.Context, db, user string) (string, error) {
	st, err := store.OpenSQLite(db)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if _, err := st.UserHash(ctx, user); err != nil {
		return "", fmt.Errorf("station user token %s: %w (add the user first)", user, err)
	}
	tok := randomToken()
	if err := st.PutSecret(ctx, store.Secret{Hash: hashToken(tok), User: user, Kind: "token"}); err != nil {
		return "", err
	}
	return tok, nil
}
