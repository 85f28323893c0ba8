package domain

import (
	"github.com/switchyard/switchyard/internal/model"
)

// Webhooks are kept beside the document, like release models: export
// never shows them and writing one changes no environment's state. They
// share the create, update and delete operations of the other project
// resources (etags, audit), are validated with model.ValidateWebhook, and
// their audit events never record the secret. Their records hold the secret
// encrypted with Options.SecretKeys (webhook_secret.go); each commit queues
// their deliveries (webhook_deliveries.go).

// WebhookName returns the resource name of a webhook:
// projects/{p}/webhooks/{id}.
func WebhookName(project, id string) string {
	return ProjectName(project) + "/" + collWebhooks + "/" + id
}

// Webhooks returns the project's webhooks in creation order. The slice and
// the webhooks are shared and must not be modified.
func (ps *ProjectState) Webhooks() []*model.Webhook { return ps.webhooks.items }

// Webhook returns the webhook with the given id and its Meta.
func (ps *ProjectState) Webhook(id string) (*model.Webhook, Meta, bool) {
	v, e, ok := ps.webhooks.get(id)
	return v, e.meta, ok
}

// CreateWebhook adds a webhook. An invalid webhook fails with an error
// matching ErrInvalid, its model.Errors paths relative to the webhook.
func (tx *Tx) CreateWebhook(project string, w *model.Webhook) error {
	return createOp(tx, webhookKind(), project, w)
}

// UpdateWebhook replaces the webhook with w's id, secret included.
func (tx *Tx) UpdateWebhook(project string, w *model.Webhook, etag string) error {
	return updateOp(tx, webhookKind(), project, w, etag)
}

// DeleteWebhook deletes a webhook. Its delivery log goes with it
// (DeleteWebhookDeliveries), once the deliverer sees the deletion.
func (tx *Tx) DeleteWebhook(project, id, etag string) error {
	return deleteOp(tx, webhookKind(), project, id, etag)
}

// webhookView is what audit events record of a webhook: everything but
// the secret.
type webhookView struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events,omitempty"`
	Description string   `json:"description,omitempty"`
	Disabled    bool     `json:"disabled,omitempty"`
}

func webhookKind() itemKind[*model.Webhook] {
	return itemKind[*model.Webhook]{
		kind:    kindWebhook,
		noun:    "webhook",
		coll:    func(ps *ProjectState) *coll[*model.Webhook] { return &ps.webhooks },
		key:     func(w *model.Webhook) string { return w.ID },
		outside: true,
		check:   model.ValidateWebhook,
		view: func(w *model.Webhook) any {
			return webhookView{ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Disabled: w.Disabled}
		},
	}
}
