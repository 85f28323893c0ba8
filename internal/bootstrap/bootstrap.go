// Package bootstrap gives an empty database what a new user needs: the
// default project with production and staging, an admin token and a
// production SDK key (DESIGN §5). Both keys belong to the principal
// store.BootstrapPrincipal ("admin", a person).
package bootstrap

import (
	"context"
	"fmt"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
)

// The names bootstrap creates.
const (
	Project     = "default"
	Environment = "production"
)

// Credentials are the secrets bootstrap created. They exist nowhere else in
// plain text.
type Credentials struct {
	AdminToken  string `json:"admin_token"`
	SDKKey      string `json:"sdk_key"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
}

// Run bootstraps st if it holds no project yet; it reports whether it did.
// Non-empty secrets in want are used instead of random ones (automation).
func Run(ctx context.Context, st *store.Store, want Credentials) (Credentials, bool, error) {
	if len(st.State().Projects()) > 0 {
		return Credentials{}, false, nil
	}
	creds := Credentials{AdminToken: want.AdminToken, SDKKey: want.SDKKey, Project: Project, Environment: Environment}
	adminHash, err := secretHash(&creds.AdminToken, store.PrefixAdmin)
	if err != nil {
		return Credentials{}, false, err
	}
	sdkHash, err := secretHash(&creds.SDKKey, store.PrefixSDK)
	if err != nil {
		return Credentials{}, false, err
	}
	doc := &model.Document{Version: model.DocumentVersion, Project: Project, Environments: []string{"production", "staging"}}
	_, err = st.Update(ctx, store.Actor{Name: "bootstrap"}, func(tx *store.Tx) error {
		if _, err := tx.Import(doc, false); err != nil {
			return err
		}
		if _, err := tx.CreateAPIKey(store.APIKey{
			Name: "bootstrap-admin", Kind: store.KindAdmin, Role: store.RoleAdmin, Hash: adminHash,
			Principal: store.BootstrapPrincipal, PrincipalKind: store.PrincipalPerson,
		}); err != nil {
			return err
		}
		_, err := tx.CreateAPIKey(store.APIKey{
			Name: "bootstrap-sdk", Kind: store.KindSDK, Project: Project, Environment: Environment, Hash: sdkHash,
			Principal: store.BootstrapPrincipal, PrincipalKind: store.PrincipalPerson,
		})
		return err
	})
	if err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	return creds, true, nil
}

// secretHash generates *secret when empty and returns its hash.
func secretHash(secret *string, prefix string) (string, error) {
	if *secret != "" {
		return store.HashSecret(*secret), nil
	}
	s, h, err := store.NewSecret(prefix)
	if err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	*secret = s
	return h, nil
}
