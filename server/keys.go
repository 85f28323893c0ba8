package server

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// keyService manages API keys.
type keyService struct {
	pb.UnimplementedKeyServiceServer
	*Server
}

var _ pb.KeyServiceServer = (*keyService)(nil)

func keyProto(k *domain.APIKey) *pb.ApiKey {
	return &pb.ApiKey{
		Id: k.ID, Name: k.Name, Kind: string(k.Kind), Role: string(k.Role),
		Project: k.Project, Environment: k.Environment,
		CreateTime: timestamppb.New(k.CreateTime), CreatedBy: k.CreatedBy,
		Principal: k.Principal, PrincipalKind: string(k.PrincipalKind), CreatedByKey: k.CreatedByKey,
		Environments: k.Environments,
	}
}

func (s *keyService) ListApiKeys(_ context.Context, req *pb.ListApiKeysRequest) (*pb.ListApiKeysResponse, error) {
	var keys []*domain.APIKey
	for _, k := range s.store.State().APIKeys() {
		if req.GetProject() == "" || k.Project == req.GetProject() {
			keys = append(keys, k)
		}
	}
	items, next, err := page(keys, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &pb.ListApiKeysResponse{NextPageToken: next}
	for _, k := range items {
		resp.Keys = append(resp.Keys, keyProto(k))
	}
	return resp, nil
}

func (s *keyService) CreateApiKey(ctx context.Context, req *pb.CreateApiKeyRequest) (*pb.CreateApiKeyResponse, error) {
	k := req.GetKey()
	if k == nil {
		return nil, invalidField("key", "is required")
	}
	prefix := domain.PrefixAdmin
	switch auth.Kind(k.GetKind()) {
	case auth.KindAdmin:
		if !auth.ValidRole(auth.Role(k.GetRole())) {
			return nil, invalidField("key.role", "must be admin, release-manager, editor or viewer")
		}
		if k.GetProject() != "" || k.GetEnvironment() != "" || len(k.GetEnvironments()) > 0 {
			return nil, invalidField("key.project", "an admin token belongs to no project")
		}
	case auth.KindSDK, auth.KindClient:
		prefix = domain.PrefixSDK
		if auth.Kind(k.GetKind()) == auth.KindClient {
			prefix = domain.PrefixClient
		}
		if k.GetRole() != "" {
			return nil, invalidField("key.role", "only admin tokens have a role")
		}
		if k.GetProject() == "" || k.GetEnvironment() == "" {
			return nil, invalidField("key.environment", "an %s key needs project and environment", k.GetKind())
		}
		if len(k.GetEnvironments()) > 0 {
			return nil, invalidField("key.environments", "only relay keys have several environments; use environment")
		}
	case auth.KindRelay:
		prefix = domain.PrefixRelay
		if err := checkRelayKey(k); err != nil {
			return nil, err
		}
	default:
		return nil, invalidField("key.kind", "must be admin, sdk, client or relay")
	}
	switch domain.PrincipalKind(k.GetPrincipalKind()) {
	case "", domain.PrincipalPerson, domain.PrincipalService:
	default:
		return nil, invalidField("key.principal_kind", "must be person or service")
	}
	if p := k.GetPrincipal(); p != "" && !domain.ValidPrincipal(p) {
		return nil, invalidField("key.principal", "must be 1 to 128 printable characters without leading or trailing spaces")
	}
	secret, hash, err := domain.NewSecret(prefix)
	if err != nil {
		return nil, err
	}
	var created domain.APIKey
	_, err = s.update(ctx, func(tx *domain.Tx) error {
		var err error
		created, err = tx.CreateAPIKey(domain.APIKey{
			Name: k.GetName(), Kind: domain.KeyKind(k.GetKind()), Role: domain.Role(k.GetRole()),
			Project: k.GetProject(), Environment: k.GetEnvironment(), Environments: k.GetEnvironments(), Hash: hash,
			CreatedBy: actorFrom(ctx).Name,
			// The store makes the key the caller's, or audits the principal named.
			Principal: k.GetPrincipal(), PrincipalKind: domain.PrincipalKind(k.GetPrincipalKind()),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &pb.CreateApiKeyResponse{Key: keyProto(&created), Secret: secret}, nil
}

func (s *keyService) DeleteApiKey(ctx context.Context, req *pb.DeleteApiKeyRequest) (*emptypb.Empty, error) {
	if _, err := s.update(ctx, func(tx *domain.Tx) error { return tx.DeleteAPIKey(req.GetId()) }); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// checkRelayKey checks the fields of a relay key to create: a project, one
// or more distinct environments of it, no environment and no role.
func checkRelayKey(k *pb.ApiKey) error {
	switch {
	case k.GetRole() != "":
		return invalidField("key.role", "only admin tokens have a role")
	case k.GetProject() == "":
		return invalidField("key.project", "a relay key needs a project")
	case k.GetEnvironment() != "":
		return invalidField("key.environment", "a relay key lists its environments in environments")
	case len(k.GetEnvironments()) == 0:
		return invalidField("key.environments", "a relay key needs at least one environment")
	}
	for i, env := range k.GetEnvironments() {
		if env == "" || slices.Contains(k.GetEnvironments()[:i], env) {
			return invalidField(fmt.Sprintf("key.environments[%d]", i), "%q is empty or listed twice", env)
		}
	}
	return nil
}
