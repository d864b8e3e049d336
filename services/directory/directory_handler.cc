#include "services/directory/directory_handler.h"

#include "absl/strings/str_cat.h"
#include "services/common/validation.h"
#include "services/directory/directory_mapping.h"

namespace peerwell::directory {
namespace {

// What a page token is bound to besides the organisation: the listing, its filters and the
// caller (whose visibility shaped the pages).
std::string PeopleQuery(const v1::ListPeopleRequest& request, const Caller& caller) {
  return absl::StrCat("people/", request.role(), "/", request.status(), "/", caller.person_id);
}

std::string AuditQueryKey(const v1::ListAuditRecordsRequest& request, const Caller& caller) {
  return absl::StrCat("audit/", request.subject_id(), "/", request.reader_id(), "/",
                      request.start_time().seconds(), ".", request.start_time().nanos(), "/",
                      request.end_time().seconds(), ".", request.end_time().nanos(), "/",
                      caller.person_id);
}

absl::StatusOr<PageRequest> ReadPage(const PageTokenCodec& pages, const Caller& caller,
                                     int page_size, const std::string& token,
                                     const std::string& query) {
  auto size = NormalizePageSize("page_size", page_size);
  if (!size.ok()) return size.status();
  auto position = pages.Decode(token, caller.organization_id, query);
  if (!position.ok()) return position.status();
  return PageRequest{*size, *position};
}

}  // namespace

grpc::ServerUnaryReactor* DirectoryHandler::CreateOrganization(
    grpc::CallbackServerContext* context, const v1::CreateOrganizationRequest* request,
    v1::CreateOrganizationResponse* response) {
  return runner_.Run(context, "CreateOrganization", [=, this](const Caller& caller) {
    auto organization =
        service_.CreateOrganization(caller, request->display_name(), request->request_id());
    if (!organization.ok()) return organization.status();
    *response->mutable_organization() = OrganizationToProto(*organization);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::CreatePerson(grpc::CallbackServerContext* context,
                                                         const v1::CreatePersonRequest* request,
                                                         v1::CreatePersonResponse* response) {
  return runner_.Run(context, "CreatePerson", [=, this](const Caller& caller) {
    auto person = PersonFromProto(request->person(), "person");
    if (!person.ok()) return person.status();
    auto created = service_.CreatePerson(caller, *std::move(person), request->request_id());
    if (!created.ok()) return created.status();
    *response->mutable_person() = PersonToProto(*created);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::GetPerson(grpc::CallbackServerContext* context,
                                                      const v1::GetPersonRequest* request,
                                                      v1::GetPersonResponse* response) {
  return runner_.Run(context, "GetPerson", [=, this](const Caller& caller) {
    auto person = service_.GetPerson(caller, request->person_id());
    if (!person.ok()) return person.status();
    *response->mutable_person() = PersonToProto(*person);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::ListPeople(grpc::CallbackServerContext* context,
                                                       const v1::ListPeopleRequest* request,
                                                       v1::ListPeopleResponse* response) {
  return runner_.Run(context, "ListPeople", [=, this](const Caller& caller) {
    auto filter = PeopleFilterFromRequest(*request);
    if (!filter.ok()) return filter.status();
    std::string query = PeopleQuery(*request, caller);
    auto page = ReadPage(pages_, caller, request->page_size(), request->page_token(), query);
    if (!page.ok()) return page.status();
    auto people = service_.ListPeople(caller, *filter, *page);
    if (!people.ok()) return people.status();
    for (const Person& person : people->items) *response->add_people() = PersonToProto(person);
    if (!people->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, query, people->next_position));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::UpdatePerson(grpc::CallbackServerContext* context,
                                                         const v1::UpdatePersonRequest* request,
                                                         v1::UpdatePersonResponse* response) {
  return runner_.Run(context, "UpdatePerson", [=, this](const Caller& caller) {
    auto values = PersonFromProto(request->person(), "person");
    if (!values.ok()) return values.status();
    auto fields = PersonFieldsFromMask(request->update_mask());
    if (!fields.ok()) return fields.status();
    auto updated = service_.UpdatePerson(caller, PersonUpdate{*std::move(values), *fields});
    if (!updated.ok()) return updated.status();
    *response->mutable_person() = PersonToProto(*updated);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::AssignSupervisor(
    grpc::CallbackServerContext* context, const v1::AssignSupervisorRequest* request,
    v1::AssignSupervisorResponse* response) {
  return runner_.Run(context, "AssignSupervisor", [=, this](const Caller& caller) {
    auto person =
        service_.AssignSupervisor(caller, request->volunteer_id(), request->supervisor_id());
    if (!person.ok()) return person.status();
    *response->mutable_person() = PersonToProto(*person);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::UnassignSupervisor(
    grpc::CallbackServerContext* context, const v1::UnassignSupervisorRequest* request,
    v1::UnassignSupervisorResponse* response) {
  return runner_.Run(context, "UnassignSupervisor", [=, this](const Caller& caller) {
    auto person =
        service_.UnassignSupervisor(caller, request->volunteer_id(), request->supervisor_id());
    if (!person.ok()) return person.status();
    *response->mutable_person() = PersonToProto(*person);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::GetConsent(grpc::CallbackServerContext* context,
                                                       const v1::GetConsentRequest* request,
                                                       v1::GetConsentResponse* response) {
  return runner_.Run(context, "GetConsent", [=, this](const Caller& caller) {
    auto consent = service_.GetConsent(caller, request->volunteer_id());
    if (!consent.ok()) return consent.status();
    *response->mutable_consent() = ConsentToProto(*consent);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::SetConsent(grpc::CallbackServerContext* context,
                                                       const v1::SetConsentRequest* request,
                                                       v1::SetConsentResponse* response) {
  return runner_.Run(context, "SetConsent", [=, this](const Caller& caller) {
    if (!request->has_consent()) return InvalidField("consent", "is required");
    auto consent =
        service_.SetConsent(caller, request->volunteer_id(), ConsentFromProto(request->consent()));
    if (!consent.ok()) return consent.status();
    *response->mutable_consent() = ConsentToProto(*consent);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::CreateApiKey(grpc::CallbackServerContext* context,
                                                         const v1::CreateApiKeyRequest* request,
                                                         v1::CreateApiKeyResponse* response) {
  return runner_.Run(context, "CreateApiKey", [=, this](const Caller& caller) {
    std::vector<std::string> scopes(request->scopes().begin(), request->scopes().end());
    auto created =
        service_.CreateApiKey(caller, request->display_name(), scopes, request->request_id());
    if (!created.ok()) return created.status();
    *response->mutable_api_key() = ApiKeyToProto(created->api_key);
    response->set_secret(created->secret);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::ListApiKeys(grpc::CallbackServerContext* context,
                                                        const v1::ListApiKeysRequest* request,
                                                        v1::ListApiKeysResponse* response) {
  return runner_.Run(context, "ListApiKeys", [=, this](const Caller& caller) {
    auto page = ReadPage(pages_, caller, request->page_size(), request->page_token(), "api_keys");
    if (!page.ok()) return page.status();
    auto keys = service_.ListApiKeys(caller, *page);
    if (!keys.ok()) return keys.status();
    for (const ApiKey& key : keys->items) *response->add_api_keys() = ApiKeyToProto(key);
    if (!keys->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, "api_keys", keys->next_position));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::RevokeApiKey(grpc::CallbackServerContext* context,
                                                         const v1::RevokeApiKeyRequest* request,
                                                         v1::RevokeApiKeyResponse* response) {
  return runner_.Run(context, "RevokeApiKey", [=, this](const Caller& caller) {
    auto key = service_.RevokeApiKey(caller, request->api_key_id());
    if (!key.ok()) return key.status();
    *response->mutable_api_key() = ApiKeyToProto(*key);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::ExportPersonData(
    grpc::CallbackServerContext* context, const v1::ExportPersonDataRequest* request,
    v1::ExportPersonDataResponse* response) {
  return runner_.Run(context, "ExportPersonData", [=, this](const Caller& caller) {
    auto person_export = service_.ExportPersonData(caller, request->person_id());
    if (!person_export.ok()) return person_export.status();
    auto json = PersonExportToJson(*person_export);
    if (!json.ok()) return json.status();
    response->set_export_json(*std::move(json));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::ListAuditRecords(
    grpc::CallbackServerContext* context, const v1::ListAuditRecordsRequest* request,
    v1::ListAuditRecordsResponse* response) {
  return runner_.Run(context, "ListAuditRecords", [=, this](const Caller& caller) {
    auto query = AuditQueryFromRequest(*request);
    if (!query.ok()) return query.status();
    std::string query_key = AuditQueryKey(*request, caller);
    auto page = ReadPage(pages_, caller, request->page_size(), request->page_token(), query_key);
    if (!page.ok()) return page.status();
    auto records = service_.ListAuditRecords(caller, *query, *page);
    if (!records.ok()) return records.status();
    for (const ListedAuditRecord& record : records->items) {
      *response->add_records() = AuditRecordToProto(record);
    }
    if (!records->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, query_key, records->next_position));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::ErasePerson(grpc::CallbackServerContext* context,
                                                        const v1::ErasePersonRequest* request,
                                                        v1::ErasePersonResponse* response) {
  return runner_.Run(context, "ErasePerson", [=, this](const Caller& caller) {
    auto erasure = service_.ErasePerson(caller, request->person_id(), request->request_id());
    if (!erasure.ok()) return erasure.status();
    *response->mutable_erasure() = ErasureToProto(*erasure);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::GetErasure(grpc::CallbackServerContext* context,
                                                       const v1::GetErasureRequest* request,
                                                       v1::GetErasureResponse* response) {
  return runner_.Run(context, "GetErasure", [=, this](const Caller& caller) {
    auto erasure = service_.GetErasure(caller, request->erasure_id());
    if (!erasure.ok()) return erasure.status();
    *response->mutable_erasure() = ErasureToProto(*erasure);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::ReportErasure(grpc::CallbackServerContext* context,
                                                          const v1::ReportErasureRequest* request,
                                                          v1::ReportErasureResponse* response) {
  return runner_.Run(context, "ReportErasure", [=, this](const Caller& caller) {
    auto erasure = service_.ReportErasure(caller, request->erasure_id());
    if (!erasure.ok()) return erasure.status();
    *response->mutable_erasure() = ErasureToProto(*erasure);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryHandler::AuthenticateApiKey(
    grpc::CallbackServerContext* context, const v1::AuthenticateApiKeyRequest* request,
    v1::AuthenticateApiKeyResponse* response) {
  return runner_.Run(context, "AuthenticateApiKey", [=, this](const Caller& caller) {
    if (caller.role != CallerRole::kService) {
      return absl::PermissionDeniedError("only PeerWell services authenticate API keys");
    }
    auto partner = service_.AuthenticateApiKey(request->secret());
    if (!partner.ok()) return partner.status();
    if (partner->organization_id != caller.organization_id) {
      return absl::UnauthenticatedError("invalid credentials: unknown or revoked API key");
    }
    response->set_organization_id(partner->organization_id);
    response->set_api_key_id(partner->person_id);
    for (const auto& scope : partner->scopes) response->add_scopes(scope);
    return absl::OkStatus();
  });
}

}  // namespace peerwell::directory
