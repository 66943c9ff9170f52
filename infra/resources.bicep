// Every resource of the service, in one resource group. Shaped like Microsoft's Flex Consumption
// azd quickstarts (user-assigned identity, no shared keys, identity-based host storage), written
// without registry modules so the offline checks (checkov, the settings test) see every property.

param location string
param tags object
param resourceToken string
param emailDataLocation string
param publicBaseUrl string
param portalUrl string
param redirectAllowlist string
param sessionMaxAgeSeconds int
param identityPlatform string
param externalIdTenant string
param identityAuthority string
@secure()
param entraClientSecret string
param b2cTenantName string
param b2cUserFlow string
param b2cAuthorityHost string
param b2cClientId string
@secure()
param b2cClientSecret string
@secure()
param sessionSecret string
param requireMatchingEmail bool
param signInHint string
param entraClientId string
param staffApiAudience string
param staffApiTenantId string
param entraLoginHost string
param customerSuccessEmail string
param customerSuccessUrl string
param productName string
param documentationUrl string
param welcomeLinks string
param zoneRedundant bool

// The app's queues (queue-triggered workers) and their poison queues, and its tables. The app
// also creates a missing one on first use; declaring them makes the account complete on day one.
var queueNames = [
  'invitation-email'
  'invitation-email-poison'
  'company-create'
  'company-create-poison'
  'invitation-events'
  'invitation-events-poison'
  'invitation-batch'
  'invitation-batch-poison'
]
var tableNames = ['Invitations', 'IdempotencyKeys', 'Companies', 'Users', 'AdminConsents', 'EmailOperations', 'Batches', 'InvitationsByEmail', 'EmailBudget', 'TenantDomains', 'InvitationsByTenant', 'Funnel']
var deploymentContainerName = 'app-package'

// Built-in role ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles)
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

// ---------------------------------------------------------------- identity
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${resourceToken}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------- monitoring
resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true // telemetry only with an Entra token (the identity's Monitoring Metrics Publisher role)
  }
}

// ---------------------------------------------------------------- storage
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_59: Flex Consumption without a virtual network reaches storage over its public endpoint; access needs an Entra token (shared keys are off)
  // checkov:skip=CKV_AZURE_35: same: no VNet in this template, so the network default stays Allow; authorization is RBAC only
  // checkov:skip=CKV_AZURE_43: the name is 'st' + uniqueString() (13 lowercase letters and digits), valid; checkov cannot evaluate the expression
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_GZRS' } // zone-redundant and copied to the paired region: invitations and companies outlive a zone or region outage
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

// Flex Consumption pulls the deployed package from this container with the identity.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for name in queueNames: {
    parent: queueService
    name: name
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for name in tableNames: {
    parent: tableService
    name: name
  }
]

// Reads, writes and deletes of queues and tables go to Log Analytics (the audit trail of the data plane).
resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logs.id
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: logs.id
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

// ---------------------------------------------------------------- secrets
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: the Function App (Flex Consumption without VNet) resolves Key Vault references over the public endpoint; access is RBAC only (Key Vault Secrets User for the identity)
  // checkov:skip=CKV_AZURE_189: same reason: public network access stays enabled, authorization is Entra ID RBAC
  name: 'kv-${resourceToken}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource entraClientSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: the Entra app's secret expires on its app registration and is rotated there
  parent: vault
  name: 'entra-client-secret'
  properties: {
    value: entraClientSecret
    contentType: 'text/plain'
  }
}

resource b2cClientSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: the B2C client secret's expiry is set on its app registration (at most 24 months) and rotated there; Key Vault does not enforce a secret's exp
  parent: vault
  name: 'b2c-client-secret'
  properties: {
    value: b2cClientSecret
    contentType: 'text/plain'
  }
}

resource sessionSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: the session secret has no natural expiry; rotate it by setting a new value (sessions last SESSION_MAX_AGE_SECONDS)
  parent: vault
  name: 'session-secret'
  properties: {
    value: sessionSecret
    contentType: 'text/plain'
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logs.id
    logs: [{ categoryGroup: 'audit', enabled: true }]
  }
}

// ---------------------------------------------------------------- e-mail
resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: 'ecs-${resourceToken}'
  location: 'global'
  tags: tags
  properties: { dataLocation: emailDataLocation }
}

// An Azure-managed domain (xxxx.azurecomm.net) sends at once; add a custom domain later for the brand.
resource emailDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: 'acs-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    dataLocation: emailDataLocation
    linkedDomains: [emailDomain.id]
  }
}

// Sending e-mail with an Entra token needs these three actions on the ACS resource (Microsoft's
// documented minimum); no built-in role is narrower than Contributor-like owner roles.
resource emailSenderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'acs-email-sender')
  properties: {
    roleName: 'ACS e-mail sender (${resourceGroup().name})'
    description: 'Send e-mail through Azure Communication Services with Microsoft Entra ID'
    type: 'customRole'
    permissions: [
      {
        actions: [
          'Microsoft.Communication/CommunicationServices/Read'
          'Microsoft.Communication/CommunicationServices/Write'
          'Microsoft.Communication/EmailServices/write'
        ]
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

// ---------------------------------------------------------------- role assignments of the identity
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataMessageProcessor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageProcessor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataMessageSender)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource emailSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, identity.id, emailSenderRole.id)
  scope: communication
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', emailSenderRole.name)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------- the function app
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption exists only in some regions: set zoneRedundant=true where offered
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: invitees' browsers and the CRM call the app; client certificates would lock them out (staff calls carry a function key)
  // checkov:skip=CKV_AZURE_222: the e-mail link and the B2C redirect must reach the app from the internet
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero by design; always-ready instances are a cost choice, not needed for a staff/invitee tool
  // checkov:skip=CKV_AZURE_213: Flex Consumption has no platform health check; the deploy workflow's smoke test calls /api/health
  name: 'func-${resourceToken}'
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id // Key Vault references resolve with the user-assigned identity
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Only through Front Door (its WAF limits anonymous volume): its backend service tag and this profile's id
      ipSecurityRestrictionsDefaultAction: 'Deny'
      ipSecurityRestrictions: [
        {
          name: 'front-door'
          action: 'Allow'
          priority: 100
          tag: 'ServiceTag'
          ipAddress: 'AzureFrontDoor.Backend'
          headers: { 'x-azure-fdid': [frontDoor.properties.frontDoorId] }
        }
      ]
      scmIpSecurityRestrictionsUseMain: false // deployments (azd, the OIDC workflow) reach the SCM site with Entra ID
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
        // 16 requests at once per instance (Python's default is 1), each on one of the worker's
        // PYTHON_THREADPOOL_THREAD_COUNT threads: a hung dependency holds a request ≤ 2.5 s, and
        // /api/health and the routes that do not use it keep their threads (docs/explanation/faults.md).
        triggers: { http: { perInstanceConcurrency: 16 } }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No basic-auth (publishing profile) deployments: deploy with Entra ID (azd, the OIDC workflow).
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: { allow: false }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: { allow: false }
}

// ---------------------------------------------------------------- Front Door and its WAF
// Every request reaches the app through Front Door; the WAF refuses a flood on the invitee's anonymous
// pages per client socket address before it costs the app anything (docs/decisions/0015-where-volume-limits-live.md).
// The app's own per-client budget (ANONYMOUS_*) is the second line, per instance.
var anonymousPaths = ['/api/inviteuser', '/api/createcompany', '/api/adminconsent']

resource frontDoor 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: 'afd-${resourceToken}'
  location: 'global'
  tags: tags
  sku: { name: 'Standard_AzureFrontDoor' }
}

resource frontDoorEndpoint 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' = {
  parent: frontDoor
  name: 'fde-${resourceToken}'
  location: 'global'
  tags: tags
  properties: { enabledState: 'Enabled' }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: frontDoor
  name: 'function-app'
  properties: {
    loadBalancingSettings: { sampleSize: 4, successfulSamplesRequired: 3, additionalLatencyInMilliseconds: 50 }
    // No health probes: with one origin there is nothing to fail over to, and every edge would call /api/health (a storage read)
  }
}

resource origin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: originGroup
  name: 'function-app'
  properties: {
    hostName: functionApp.properties.defaultHostName
    originHostHeader: functionApp.properties.defaultHostName
    httpsPort: 443
    priority: 1
    weight: 1000
    enforceCertificateNameCheck: true
  }
}

resource frontDoorRoute 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: frontDoorEndpoint
  name: 'everything'
  properties: {
    originGroup: { id: originGroup.id }
    supportedProtocols: ['Http', 'Https']
    httpsRedirect: 'Enabled'
    forwardingProtocol: 'HttpsOnly'
    patternsToMatch: ['/*']
    linkToDefaultDomain: 'Enabled'
  }
  dependsOn: [origin] // a route needs its group's origin in place
}

resource waf 'Microsoft.Network/FrontDoorWebApplicationFirewallPolicies@2024-02-01' = {
  name: 'waf${resourceToken}' // letters and digits only
  location: 'Global'
  tags: tags
  sku: { name: 'Standard_AzureFrontDoor' } // custom and rate-limit rules; Premium adds Microsoft's managed rule sets
  properties: {
    policySettings: {
      enabledState: 'Enabled'
      mode: 'Prevention'
      customBlockResponseStatusCode: 429
      // Static, so in every language of the pages; the app's own 429 page speaks the visitor's language.
      customBlockResponseBody: base64('<!doctype html><meta charset="utf-8"><title>Too many requests</title><p lang="en">Too many requests from your network. Please wait a minute, then open your invitation link again.</p><p lang="de">Zu viele Anfragen aus Ihrem Netzwerk. Bitte warten Sie eine Minute und öffnen Sie dann den Link Ihrer Einladung erneut.</p><p lang="fr">Trop de demandes depuis votre réseau. Veuillez patienter une minute, puis rouvrir le lien de votre invitation.</p><p lang="it">Troppe richieste dalla Sua rete. Attenda un minuto, poi riapra il link del Suo invito.</p><p lang="es">Demasiadas solicitudes desde su red. Espere un minuto y vuelva a abrir el enlace de su invitación.</p>')
    }
    customRules: {
      rules: [
        {
          // Per client socket address (not X-Forwarded-For, which the client writes): 100 requests a minute on the anonymous pages
          name: 'AnonymousPagesPerClient'
          priority: 100
          enabledState: 'Enabled'
          ruleType: 'RateLimitRule'
          rateLimitDurationInMinutes: 1
          rateLimitThreshold: 100
          groupBy: [{ variableName: 'SocketAddr' }]
          matchConditions: [
            {
              matchVariable: 'RequestUri'
              operator: 'Contains'
              matchValue: anonymousPaths
              transforms: ['Lowercase']
            }
          ]
          action: 'Block'
        }
      ]
    }
  }
}

resource wafAssociation 'Microsoft.Cdn/profiles/securityPolicies@2024-02-01' = {
  parent: frontDoor
  name: 'waf'
  properties: {
    parameters: {
      type: 'WebApplicationFirewall'
      wafPolicy: { id: waf.id }
      associations: [{ domains: [{ id: frontDoorEndpoint.id }], patternsToMatch: ['/*'] }]
    }
  }
}

// What the WAF refused, and whom (the client's socket address), next to the app's telemetry.
resource frontDoorDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: frontDoor
  properties: {
    workspaceId: logs.id
    logs: [{ category: 'FrontDoorWebApplicationFirewallLog', enabled: true }]
  }
}

var appUrl = 'https://${frontDoorEndpoint.properties.hostName}'
var baseUrl = empty(publicBaseUrl) ? appUrl : publicBaseUrl
var senderAddress = 'DoNotReply@${emailDomain.properties.mailFromSenderDomain}'

// Every setting the app reads (shared/settings.py; tests/test_infrastructure.py keeps the two equal)
// plus the host's own. An empty value counts as unset for the app (env_ignore_empty).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov reads every sites/config as a site configuration; these are app settings, and the site's own checks are on functionApp:
  // checkov:skip=CKV_AZURE_13: App Service Authentication in front would block the public e-mail link and the B2C redirect; the app signs invitees in through B2C itself
  // checkov:skip=CKV_AZURE_222: see functionApp: the app must be reachable from the internet
  // checkov:skip=CKV_AZURE_63: HTTP logs: not offered on Flex Consumption; requests go to Application Insights
  // checkov:skip=CKV_AZURE_65: detailed error pages: not offered on Flex Consumption; errors go to Application Insights
  // checkov:skip=CKV_AZURE_66: failed request tracing: not offered on Flex Consumption; failures go to Application Insights
  // checkov:skip=CKV_AZURE_80: a Python app: no .NET Framework version
  // checkov:skip=CKV_AZURE_88: Azure Files: the app keeps no files; its state is in Table Storage
  parent: functionApp
  name: 'appsettings'
  properties: {
    // The Functions host: its storage and telemetry through the identity
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
    // The Python worker's threads for sync functions: the 16 HTTP requests an instance takes at once,
    // and as many queue and timer invocations beside them (the worker's maximum is 32).
    PYTHON_THREADPOOL_THREAD_COUNT: '32'
    // The app's storage connection STORAGE (tables, and the queue triggers' connection)
    STORAGE__tableServiceUri: storage.properties.primaryEndpoints.table
    STORAGE__queueServiceUri: storage.properties.primaryEndpoints.queue
    STORAGE__credential: 'managedidentity'
    STORAGE__clientId: identity.properties.clientId
    // Links and session
    PUBLIC_BASE_URL: baseUrl
    PORTAL_URL: portalUrl
    WELCOME_LINKS: welcomeLinks
    REDIRECT_ALLOWLIST: redirectAllowlist
    SESSION_SECRET: '@Microsoft.KeyVault(SecretUri=${sessionSecretEntry.properties.secretUri})'
    SESSION_MAX_AGE_SECONDS: string(sessionMaxAgeSeconds)
    // The identity platform (Azure AD B2C or Entra External ID) and the Entra ID app of CASE 1
    IDENTITY_PLATFORM: identityPlatform
    EXTERNAL_ID_TENANT: externalIdTenant
    IDENTITY_AUTHORITY: identityAuthority
    B2C_TENANT_NAME: b2cTenantName
    B2C_USER_FLOW: b2cUserFlow
    B2C_AUTHORITY_HOST: b2cAuthorityHost
    B2C_CLIENT_ID: b2cClientId
    B2C_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${b2cClientSecretEntry.properties.secretUri})'
    REQUIRE_MATCHING_EMAIL: string(requireMatchingEmail)
    // The invitation's id_token_hint (docs/how-to/set-up-b2c.md): its RSA keys are PEM secrets the operator
    // sets in the vault (never deployment parameters); versionless references follow their rotation.
    SIGN_IN_HINT: signInHint
    HINT_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/hint-signing-key)'
    HINT_PREVIOUS_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/hint-previous-signing-key)'
    HINT_LIFETIME_SECONDS: '600'
    ENTRA_LOGIN_HOST: entraLoginHost
    ENTRA_CLIENT_ID: entraClientId
    ENTRA_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${entraClientSecretEntry.properties.secretUri})'
    // Entra ID bearer tokens on the staff API, beside the function key (docs/reference/staff-api.md)
    STAFF_API_AUDIENCE: staffApiAudience
    STAFF_API_TENANT_ID: staffApiTenantId
    // E-mail through ACS with the identity
    ACS_ENDPOINT: 'https://${communication.properties.hostName}'
    ACS_SENDER_ADDRESS: senderAddress
    // ACS's sending quota for a new resource: raise both when Microsoft raises the resource's
    EMAIL_PER_MINUTE: '30'
    EMAIL_PER_HOUR: '100'
    EMAIL_RESERVE_PERCENT: '20'
    FUNNEL_STALLED_AFTER_HOURS: '48'
    CUSTOMER_SUCCESS_EMAIL: customerSuccessEmail
    CUSTOMER_SUCCESS_URL: customerSuccessUrl
    // What the invitation e-mail names and links
    PRODUCT_NAME: productName
    DOCUMENTATION_URL: documentationUrl
    // Queued side effects: the sweeper's timer (a binding expression the host reads) and its threshold
    SWEEP_SCHEDULE: '0 * * * * *'
    SWEEP_AFTER_SECONDS: '120'
    REMINDER_DAYS_BEFORE_EXPIRY: '2'
    INVITER_NOTIFICATIONS: 'false'
    // Each client address's budget on the anonymous pages, behind Front Door's rate limit (docs/decisions/0015-where-volume-limits-live.md)
    ANONYMOUS_REQUESTS_PER_MINUTE: '60'
    ANONYMOUS_BURST: '30'
  }
  // The app must not start before its identity may read what these settings point to.
  dependsOn: [blobOwner, tableContributor, queueContributor, queueProcessor, queueSender, metricsPublisher, secretsUser, emailSender]
}

output functionAppName string = functionApp.name
output keyVaultName string = vault.name
output appUrl string = appUrl
output publicBaseUrl string = baseUrl
output emailLinkBase string = '${baseUrl}/api/InviteUser?invitationId='
output b2cRedirectUri string = '${baseUrl}/api/InviteUser/callback'
output entraAdminConsentRedirectUri string = '${baseUrl}/api/AdminConsent/callback'
output healthUrl string = '${baseUrl}/api/health'
output acsSenderAddress string = senderAddress
output acsResourceId string = communication.id
