package server

import (
	"google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/switchyard/switchyard/internal/auth"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// methodPermissions is the permission every gRPC method needs. A method
// missing here is refused to every key.
func methodPermissions() map[string]auth.Permission {
	return map[string]auth.Permission{
		grpc_health_v1.Health_Check_FullMethodName: auth.Public,
		grpc_health_v1.Health_List_FullMethodName:  auth.Public,
		grpc_health_v1.Health_Watch_FullMethodName: auth.Public,
		// Reflection describes the public API; it is registered only on
		// loopback or with WithGRPCReflection.
		reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      auth.Public,
		reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: auth.Public,

		sdkpb.EvaluationService_Evaluate_FullMethodName:      auth.Evaluate,
		sdkpb.EvaluationService_EvaluateBatch_FullMethodName: auth.Evaluate,

		pb.ProjectService_ListProjects_FullMethodName:      auth.Read,
		pb.ProjectService_GetProject_FullMethodName:        auth.Read,
		pb.ProjectService_CreateProject_FullMethodName:     auth.Admin,
		pb.ProjectService_UpdateProject_FullMethodName:     auth.Admin,
		pb.ProjectService_DeleteProject_FullMethodName:     auth.Admin,
		pb.ProjectService_ListEnvironments_FullMethodName:  auth.Read,
		pb.ProjectService_GetEnvironment_FullMethodName:    auth.Read,
		pb.ProjectService_CreateEnvironment_FullMethodName: auth.Admin,
		pb.ProjectService_UpdateEnvironment_FullMethodName: auth.Admin,
		pb.ProjectService_DeleteEnvironment_FullMethodName: auth.Admin,

		pb.SegmentService_ListSegments_FullMethodName:    auth.Read,
		pb.SegmentService_GetSegment_FullMethodName:      auth.Read,
		pb.SegmentService_CreateSegment_FullMethodName:   auth.Edit,
		pb.SegmentService_UpdateSegment_FullMethodName:   auth.Edit,
		pb.SegmentService_DeleteSegment_FullMethodName:   auth.Edit,
		pb.SegmentService_EditSegmentKeys_FullMethodName: auth.Edit,
		pb.SegmentService_ListSegmentKeys_FullMethodName: auth.Read,
		pb.SegmentService_CheckSegmentKey_FullMethodName: auth.Read,

		pb.FlagService_ListFlags_FullMethodName:           auth.Read,
		pb.FlagService_GetFlag_FullMethodName:             auth.Read,
		pb.FlagService_CreateFlag_FullMethodName:          auth.Edit,
		pb.FlagService_UpdateFlag_FullMethodName:          auth.Edit,
		pb.FlagService_DeleteFlag_FullMethodName:          auth.Edit,
		pb.FlagService_GetFlagTargeting_FullMethodName:    auth.Read,
		pb.FlagService_UpdateFlagTargeting_FullMethodName: auth.Edit,
		pb.FlagService_ListStaleFlags_FullMethodName:      auth.Read,

		pb.ComponentService_ListComponents_FullMethodName:  auth.Read,
		pb.ComponentService_GetComponent_FullMethodName:    auth.Read,
		pb.ComponentService_CreateComponent_FullMethodName: auth.Edit,
		pb.ComponentService_UpdateComponent_FullMethodName: auth.Edit,
		pb.ComponentService_DeleteComponent_FullMethodName: auth.Edit,

		pb.ComponentService_RegisterVersion_FullMethodName:          auth.Edit,
		pb.ComponentService_ListVersions_FullMethodName:             auth.Read,
		pb.ComponentService_GetVersion_FullMethodName:               auth.Read,
		pb.ComponentService_UpdateVersion_FullMethodName:            auth.Edit,
		pb.ComponentService_GetComponentTargeting_FullMethodName:    auth.Read,
		pb.ComponentService_UpdateComponentTargeting_FullMethodName: auth.Edit,

		sdkpb.AvailabilityService_GetAvailability_FullMethodName: auth.Evaluate,

		pb.KeyService_ListApiKeys_FullMethodName:  auth.Admin,
		pb.KeyService_CreateApiKey_FullMethodName: auth.Admin,
		pb.KeyService_DeleteApiKey_FullMethodName: auth.Admin,

		pb.DocumentService_ImportDocument_FullMethodName: auth.Admin,
		pb.DocumentService_ExportDocument_FullMethodName: auth.Read,

		pb.DocumentService_ImportDocumentStream_FullMethodName: auth.Admin,

		pb.AuditService_ListAuditEvents_FullMethodName: auth.Read,

		pb.ReleaseService_ListReleases_FullMethodName:    auth.Read,
		pb.ReleaseService_GetRelease_FullMethodName:      auth.Read,
		pb.ReleaseService_CreateRelease_FullMethodName:   auth.Edit,
		pb.ReleaseService_UpdateRelease_FullMethodName:   auth.Edit,
		pb.ReleaseService_DeleteRelease_FullMethodName:   auth.Edit,
		pb.ReleaseService_StartRelease_FullMethodName:    auth.Release,
		pb.ReleaseService_AdvanceRelease_FullMethodName:  auth.Release,
		pb.ReleaseService_ApproveRelease_FullMethodName:  auth.Release,
		pb.ReleaseService_PauseRelease_FullMethodName:    auth.Release,
		pb.ReleaseService_ResumeRelease_FullMethodName:   auth.Release,
		pb.ReleaseService_RollBackRelease_FullMethodName: auth.Release,
		pb.ReleaseService_CancelRelease_FullMethodName:   auth.Release,

		pb.ReleaseService_AddReleaseIncident_FullMethodName: auth.Release,
		pb.ReleaseService_SetReleaseReview_FullMethodName:   auth.Release,
		pb.ReleaseService_GetReleaseReport_FullMethodName:   auth.Read,
		pb.ReleaseService_GetDeliveryMetrics_FullMethodName: auth.Read,

		pb.ReleaseModelService_ListReleaseModels_FullMethodName:  auth.Read,
		pb.ReleaseModelService_GetReleaseModel_FullMethodName:    auth.Read,
		pb.ReleaseModelService_CreateReleaseModel_FullMethodName: auth.Edit,
		pb.ReleaseModelService_UpdateReleaseModel_FullMethodName: auth.Edit,
		pb.ReleaseModelService_DeleteReleaseModel_FullMethodName: auth.Edit,

		pb.FreezeService_ListFreezes_FullMethodName:           auth.Read,
		pb.FreezeService_GetFreeze_FullMethodName:             auth.Read,
		pb.FreezeService_CreateFreeze_FullMethodName:          auth.Edit,
		pb.FreezeService_UpdateFreeze_FullMethodName:          auth.Edit,
		pb.FreezeService_DeleteFreeze_FullMethodName:          auth.Edit,
		pb.FreezeService_GetCalendar_FullMethodName:           auth.Read,
		pb.FreezeService_OverrideFreeze_FullMethodName:        auth.Release,
		pb.FreezeService_ApproveFreezeOverride_FullMethodName: auth.Release,

		sdkpb.SyncService_Sync_FullMethodName:           auth.Sync,
		sdkpb.SyncService_GetConvergence_FullMethodName: auth.Read,

		pb.ExperimentService_ListExperiments_FullMethodName:      auth.Read,
		pb.ExperimentService_GetExperiment_FullMethodName:        auth.Read,
		pb.ExperimentService_CreateExperiment_FullMethodName:     auth.Edit,
		pb.ExperimentService_UpdateExperiment_FullMethodName:     auth.Edit,
		pb.ExperimentService_DeleteExperiment_FullMethodName:     auth.Edit,
		pb.ExperimentService_StartExperiment_FullMethodName:      auth.Release,
		pb.ExperimentService_StopExperiment_FullMethodName:       auth.Release,
		pb.ExperimentService_GetExperimentResults_FullMethodName: auth.Read,
		pb.ExperimentService_ListMetrics_FullMethodName:          auth.Read,
		pb.ExperimentService_GetMetric_FullMethodName:            auth.Read,
		pb.ExperimentService_CreateMetric_FullMethodName:         auth.Edit,
		pb.ExperimentService_UpdateMetric_FullMethodName:         auth.Edit,
		pb.ExperimentService_DeleteMetric_FullMethodName:         auth.Edit,

		// A webhook's URL may carry a credential: admins only.
		pb.WebhookService_ListWebhooks_FullMethodName:          auth.Admin,
		pb.WebhookService_GetWebhook_FullMethodName:            auth.Admin,
		pb.WebhookService_CreateWebhook_FullMethodName:         auth.Admin,
		pb.WebhookService_UpdateWebhook_FullMethodName:         auth.Admin,
		pb.WebhookService_DeleteWebhook_FullMethodName:         auth.Admin,
		pb.WebhookService_ListWebhookDeliveries_FullMethodName: auth.Admin,

		pb.WebhookService_RedeliverWebhookDelivery_FullMethodName: auth.Admin,

		sdkpb.EventService_SendEvents_FullMethodName:    auth.Events,
		sdkpb.EventService_ListFlagUsage_FullMethodName: auth.Read,
	}
}
