// rconnect-invitations on Azure: `azd up` provisions this and deploys the app (azure.yaml).
// One resource group; everything in it is declared in resources.bicep. Each resource is explained
// once in docs/how-to/deploy.md.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name (e.g. rconnect-prod); names the resource group and seeds resource names')
param environmentName string

@minLength(1)
@description('Region of every resource (one where Flex Consumption is offered, e.g. westeurope, swedencentral)')
param location string

@description('Where ACS stores e-mail data at rest (Europe, UnitedStates, Switzerland, ...)')
param emailDataLocation string = 'Europe'

@description('PUBLIC_BASE_URL when a custom domain fronts the app; empty: the Function App\'s own https host')
param publicBaseUrl string = ''

@description('PORTAL_URL: My rConnect itself; empty: the app\'s default')
param portalUrl string = ''

@description('REDIRECT_ALLOWLIST: comma-separated origins allowed as an invitation\'s redirectUrl')
param redirectAllowlist string = ''

@description('SESSION_MAX_AGE_SECONDS: company-page session lifetime')
param sessionMaxAgeSeconds int = 3600

@description('IDENTITY_PLATFORM: b2c-custom-policy (infra/b2c), b2c-user-flow or external-id (docs/how-to/set-up-external-id.md)')
@allowed(['b2c-custom-policy', 'b2c-user-flow', 'external-id'])
param identityPlatform string = 'b2c-custom-policy'

@description('B2C_TENANT_NAME: the B2C tenant, without .onmicrosoft.com; on External ID the {name} of {name}.ciamlogin.com')
param b2cTenantName string

@description('EXTERNAL_ID_TENANT: External ID only, the tenant id or domain in the authority; empty: {name}.onmicrosoft.com')
param externalIdTenant string = ''

@description('IDENTITY_AUTHORITY: the whole authority, when no shape fits; empty: built from the settings above')
param identityAuthority string = ''

@description('B2C_USER_FLOW: the custom policy of infra/b2c (B2C_1A_SIGNUP_SIGNIN) or a user flow; empty on External ID')
param b2cUserFlow string = 'B2C_1A_SIGNUP_SIGNIN'

@description('B2C_AUTHORITY_HOST: a B2C custom domain (https://login.example.com); empty: https://{tenant}.b2clogin.com')
param b2cAuthorityHost string = ''

@description('B2C_CLIENT_ID: the web app registration in the B2C tenant')
param b2cClientId string

@secure()
@description('B2C_CLIENT_SECRET: that registration\'s client secret; stored in Key Vault')
param b2cClientSecret string

@secure()
@description('SESSION_SECRET (at least 32 characters): azd generates it once and keeps it in the environment\'s config')
@metadata({ azd: { type: 'generate', config: { length: 48, noSpecial: true } } })
param sessionSecret string

@description('REQUIRE_MATCHING_EMAIL: the signed-in e-mail must be the invited one')
param requireMatchingEmail bool = true

@description('SIGN_IN_HINT: id_token_hint with the policy B2C_1A_SIGNUP_INVITATION (its keys: Key Vault secrets hint-signing-key, hint-previous-signing-key); login_hint otherwise')
@allowed(['login_hint', 'id_token_hint'])
param signInHint string = 'login_hint'

@description('ENTRA_CLIENT_ID: the multi-tenant Entra ID app behind the work-account sign-in')
param entraClientId string

@secure()
@description('ENTRA_CLIENT_SECRET: External ID only, the Entra app\'s secret (the app signs work accounts in); stored in Key Vault')
param entraClientSecret string

@description('ENTRA_LOGIN_HOST')
param entraLoginHost string = 'https://login.microsoftonline.com'

@description('STAFF_API_AUDIENCE: the audience of the staff API\'s Entra ID tokens (the API app\'s client id); empty: the function key only')
param staffApiAudience string = ''

@description('STAFF_API_TENANT_ID: the Entra ID tenant of the staff')
param staffApiTenantId string = ''

@description('CUSTOMER_SUCCESS_EMAIL: shown in e-mails and on the expired page')
param customerSuccessEmail string

@description('CUSTOMER_SUCCESS_URL: the e-mail\'s and pages\' customer-success link; empty: mailto CUSTOMER_SUCCESS_EMAIL')
param customerSuccessUrl string = ''

@description('PRODUCT_NAME: the product\'s name in the invitation e-mail, e.g. My rConnect (Stag) on staging')
param productName string = 'My rConnect'

@description('DOCUMENTATION_URL: the e-mail\'s product documentation link; empty: the app\'s default')
param documentationUrl string = ''

@description('WELCOME_LINKS: the welcome page\'s links as JSON; empty: the app\'s defaults under PORTAL_URL')
param welcomeLinks string = ''

@description('Spread the Function App over availability zones (only in regions where Flex Consumption offers it)')
param zoneRedundant bool = false

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'resources'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    emailDataLocation: emailDataLocation
    publicBaseUrl: publicBaseUrl
    portalUrl: portalUrl
    redirectAllowlist: redirectAllowlist
    sessionMaxAgeSeconds: sessionMaxAgeSeconds
    identityPlatform: identityPlatform
    externalIdTenant: externalIdTenant
    identityAuthority: identityAuthority
    entraClientSecret: entraClientSecret
    b2cTenantName: b2cTenantName
    b2cUserFlow: b2cUserFlow
    b2cAuthorityHost: b2cAuthorityHost
    b2cClientId: b2cClientId
    b2cClientSecret: b2cClientSecret
    sessionSecret: sessionSecret
    requireMatchingEmail: requireMatchingEmail
    signInHint: signInHint
    entraClientId: entraClientId
    staffApiAudience: staffApiAudience
    staffApiTenantId: staffApiTenantId
    entraLoginHost: entraLoginHost
    customerSuccessEmail: customerSuccessEmail
    customerSuccessUrl: customerSuccessUrl
    productName: productName
    documentationUrl: documentationUrl
    welcomeLinks: welcomeLinks
    zoneRedundant: zoneRedundant
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName
output AZURE_KEY_VAULT_NAME string = resources.outputs.keyVaultName
output APP_URL string = resources.outputs.appUrl
output PUBLIC_BASE_URL string = resources.outputs.publicBaseUrl
output EMAIL_LINK_BASE string = resources.outputs.emailLinkBase
output B2C_REDIRECT_URI string = resources.outputs.b2cRedirectUri
output ENTRA_ADMIN_CONSENT_REDIRECT_URI string = resources.outputs.entraAdminConsentRedirectUri
output HEALTH_URL string = resources.outputs.healthUrl
output ACS_SENDER_ADDRESS string = resources.outputs.acsSenderAddress
// The deploy workflow subscribes the app to its delivery reports (Event Grid) once the code runs.
output AZURE_ACS_RESOURCE_ID string = resources.outputs.acsResourceId
