// Package bootstrap gives an empty database what a new user needs: the
// default project with production and staging, an admin token and a
// production SDK key (DESIGN §5). Both keys belong to the principal
// domain.BootstrapPrincipal ("admin", a person).
package bootstrap

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
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

// errOvertaken means another replica bootstrapped the shared store first.
var errOvertaken = errors.New("bootstrapped by another replica")

// Run bootstraps st if it holds no project yet; it reports whether it did.
// Non-empty secrets in want are used instead of random ones (automation).
// Of replicas bootstrapping one shared store at once, one does; the others
// create nothing and report false.
func Run(ctx context.Context, st *domain.Store, want Credentials) (Credentials, bool, error) {
	if len(st.State().Projects()) > 0 {
		return Credentials{}, false, nil
	}
	creds := Credentials{AdminToken: want.AdminToken, SDKKey: want.SDKKey, Project: Project, Environment: Environment}
	adminHash, err := secretHash(&creds.AdminToken, domain.PrefixAdmin)
	if err != nil {
		return Credentials{}, false, err
	}
	sdkHash, err := secretHash(&creds.SDKKey, domain.PrefixSDK)
	if err != nil {
		return Credentials{}, false, err
	}
	doc := &model.Document{Version: model.DocumentVersion, Project: Project, Environments: []string{"production", "staging"}}
	_, err = st.Update(ctx, domain.Actor{Name: "bootstrap"}, func(tx *domain.Tx) error {
		if _, ok := tx.Project(Project); ok {
			return errOvertaken // Update ran fn again on what another replica wrote
		}
		if _, err := tx.Import(doc, false); err != nil {
			return err
		}
		if _, err := tx.CreateAPIKey(domain.APIKey{
			Name: "bootstrap-admin", Kind: domain.KindAdmin, Role: domain.RoleAdmin, Hash: adminHash,
			Principal: domain.BootstrapPrincipal, PrincipalKind: domain.PrincipalPerson,
		}); err != nil {
			return err
		}
		_, err := tx.CreateAPIKey(domain.APIKey{
			Name: "bootstrap-sdk", Kind: domain.KindSDK, Project: Project, Environment: Environment, Hash: sdkHash,
			Principal: domain.BootstrapPrincipal, PrincipalKind: domain.PrincipalPerson,
		})
		return err
	})
	switch {
	case errors.Is(err, errOvertaken):
		return Credentials{}, false, nil
	case err != nil:
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	return creds, true, nil
}

// secretHash generates *secret when empty and returns its hash.
func secretHash(secret *string, prefix string) (string, error) {
	if *secret != "" {
		return domain.HashSecret(*secret), nil
	}
	s, h, err := domain.NewSecret(prefix)
	if err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	*secret = s
	return h, nil
}
