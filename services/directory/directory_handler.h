#pragma once

#include "absl/strings/string_view.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/call.h"
#include "services/common/paging.h"
#include "services/directory/directory_service.h"

namespace peerwell::directory {

// The gRPC face of the directory: each method maps the request, calls one domain method and
// maps the result back.
class DirectoryHandler final : public v1::DirectoryService::CallbackService {
 public:
  DirectoryHandler(DirectoryService& service, UnaryCallRunner& runner, PageTokenCodec& pages)
      : service_(service), runner_(runner), pages_(pages) {}

  grpc::ServerUnaryReactor* CreateOrganization(grpc::CallbackServerContext* context,
                                               const v1::CreateOrganizationRequest* request,
                                               v1::CreateOrganizationResponse* response) override;
  grpc::ServerUnaryReactor* CreatePerson(grpc::CallbackServerContext* context,
                                         const v1::CreatePersonRequest* request,
                                         v1::CreatePersonResponse* response) override;
  grpc::ServerUnaryReactor* GetPerson(grpc::CallbackServerContext* context,
                                      const v1::GetPersonRequest* request,
                                      v1::GetPersonResponse* response) override;
  grpc::ServerUnaryReactor* ListPeople(grpc::CallbackServerContext* context,
                                       const v1::ListPeopleRequest* request,
                                       v1::ListPeopleResponse* response) override;
  grpc::ServerUnaryReactor* UpdatePerson(grpc::CallbackServerContext* context,
                                         const v1::UpdatePersonRequest* request,
                                         v1::UpdatePersonResponse* response) override;
  grpc::ServerUnaryReactor* AssignSupervisor(grpc::CallbackServerContext* context,
                                             const v1::AssignSupervisorRequest* request,
                                             v1::AssignSupervisorResponse* response) override;
  grpc::ServerUnaryReactor* UnassignSupervisor(grpc::CallbackServerContext* context,
                                               const v1::UnassignSupervisorRequest* request,
                                               v1::UnassignSupervisorResponse* response) override;
  grpc::ServerUnaryReactor* GetConsent(grpc::CallbackServerContext* context,
                                       const v1::GetConsentRequest* request,
                                       v1::GetConsentResponse* response) override;
  grpc::ServerUnaryReactor* SetConsent(grpc::CallbackServerContext* context,
                                       const v1::SetConsentRequest* request,
                                       v1::SetConsentResponse* response) override;
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context,
                                         const v1::CreateApiKeyRequest* request,
                                         v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context,
                                        const v1::ListApiKeysRequest* request,
                                        v1::ListApiKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context,
                                         const v1::RevokeApiKeyRequest* request,
                                         v1::RevokeApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ExportPersonData(grpc::CallbackServerContext* context,
                                             const v1::ExportPersonDataRequest* request,
                                             v1::ExportPersonDataResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditRecords(grpc::CallbackServerContext* context,
                                             const v1::ListAuditRecordsRequest* request,
                                             v1::ListAuditRecordsResponse* response) override;
  grpc::ServerUnaryReactor* ErasePerson(grpc::CallbackServerContext* context,
                                        const v1::ErasePersonRequest* request,
                                        v1::ErasePersonResponse* response) override;
  grpc::ServerUnaryReactor* GetErasure(grpc::CallbackServerContext* context,
                                       const v1::GetErasureRequest* request,
                                       v1::GetErasureResponse* response) override;
  grpc::ServerUnaryReactor* ReportErasure(grpc::CallbackServerContext* context,
                                          const v1::ReportErasureRequest* request,
                                          v1::ReportErasureResponse* response) override;
  grpc::ServerUnaryReactor* AuthenticateApiKey(grpc::CallbackServerContext* context,
                                               const v1::AuthenticateApiKeyRequest* request,
                                               v1::AuthenticateApiKeyResponse* response) override;

 private:
  DirectoryService& service_;
  UnaryCallRunner& runner_;
  PageTokenCodec& pages_;
};

// Partner keys, checked by the directory itself against its own store.
class DirectoryCredentials final : public CredentialDirectory {
 public:
  explicit DirectoryCredentials(DirectoryService& service) : service_(service) {}
  absl::StatusOr<Caller> AuthenticateApiKey(absl::string_view secret) override {
    return service_.AuthenticateApiKey(secret);
  }
  absl::Status CheckMember(const Caller& caller) override { return service_.CheckMember(caller); }

 private:
  DirectoryService& service_;
};

}  // namespace peerwell::directory
