import type { Kind, KindContext } from './kind.js';

/**
 * Cloud audit records in the shapes the providers deliver: CloudTrail records (of a log file's
 * `Records`), Azure Activity Log records as diagnostic settings export them (Event Hub / storage
 * `records`), and GCP Cloud Audit Logs LogEntries. Each render is one record; the HTTP sender puts
 * them into batches of their type.
 */

const UA = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.12.6',
  'Boto3/1.35.80 md/Botocore#1.35.80 ua/2.0 os/linux#6.1.0 lang/python#3.12.7',
  'terraform-provider-aws/5.80.0',
];

function callerIp(c: KindContext): string {
  const a = c.rng.chance(0.85) ? c.rng.skewed(c.pop.clients) : c.rng.pick(c.pop.internet);
  return a;
}

function iamUser(c: KindContext, user: string) {
  return {
    type: 'IAMUser',
    principalId: `AIDA${c.rng.hex(16).toUpperCase()}`,
    arn: `arn:aws:iam::${c.pop.awsAccount}:user/${user}`,
    accountId: c.pop.awsAccount,
    userName: user,
  };
}

function trail(c: KindContext, rec: Record<string, unknown>): string {
  return JSON.stringify({
    eventVersion: '1.09',
    ...rec,
    eventID: c.rng.uuid(),
    readOnly: rec.readOnly ?? false,
    eventType: rec.eventType ?? 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: c.pop.awsAccount,
    eventCategory: 'Management',
  });
}

const consoleLogin: Kind = {
  name: 'cloudtrail_console_login',
  channel: 'cloud',
  cloudType: 'cloudtrail',
  weight: 6,
  attack: true,
  summary: 'CloudTrail ConsoleLogin, success or failure (failures in bursts)',
  render(c) {
    const failed = c.attacker !== null || c.rng.chance(0.1);
    const user =
      c.attacker !== null
        ? c.rng.pick(['admin', 'root', ...c.pop.users.slice(0, 5)])
        : c.rng.skewed(c.pop.users);
    return trail(c, {
      userIdentity:
        failed && c.attacker !== null
          ? {
              type: 'IAMUser',
              accountId: c.pop.awsAccount,
              accessKeyId: '',
              userName: 'HIDDEN_DUE_TO_SECURITY_REASONS',
            }
          : { ...iamUser(c, user), accessKeyId: '' },
      eventTime: `${c.t.iso.slice(0, 19)}Z`,
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: 'us-east-1',
      sourceIPAddress: c.attacker ?? callerIp(c),
      userAgent: UA[0],
      errorMessage: failed ? 'Failed authentication' : undefined,
      requestParameters: null,
      responseElements: { ConsoleLogin: failed ? 'Failure' : 'Success' },
      additionalEventData: {
        LoginTo: 'https://console.aws.amazon.com/console/home',
        MobileVersion: 'No',
        MFAUsed: failed ? 'No' : 'Yes',
      },
      eventType: 'AwsConsoleSignIn',
    });
  },
};

const ROLES = ['OrganizationAccountAccessRole', 'deploy', 'ReadOnly', 'BreakGlass', 'ci-runner'];

const assumeRole: Kind = {
  name: 'cloudtrail_assume_role',
  channel: 'cloud',
  cloudType: 'cloudtrail',
  weight: 10,
  attack: false,
  summary: 'CloudTrail sts:AssumeRole',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const role = c.rng.skewed(ROLES);
    const session = `${user}-${c.rng.hex(8)}`;
    return trail(c, {
      userIdentity: { ...iamUser(c, user), accessKeyId: `AKIA${c.rng.hex(16).toUpperCase()}` },
      eventTime: `${c.t.iso.slice(0, 19)}Z`,
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      awsRegion: 'eu-west-1',
      sourceIPAddress: callerIp(c),
      userAgent: c.rng.pick(UA.slice(1)),
      requestParameters: {
        roleArn: `arn:aws:iam::${c.pop.awsAccount}:role/${role}`,
        roleSessionName: session,
        durationSeconds: 3600,
      },
      responseElements: {
        credentials: {
          accessKeyId: `ASIA${c.rng.hex(16).toUpperCase()}`,
          sessionToken: 'HIDDEN',
          expiration: c.t.iso,
        },
        assumedRoleUser: {
          assumedRoleId: `AROA${c.rng.hex(16).toUpperCase()}:${session}`,
          arn: `arn:aws:sts::${c.pop.awsAccount}:assumed-role/${role}/${session}`,
        },
      },
      readOnly: true,
    });
  },
};

const DENIED_CALLS: readonly [string, string, string][] = [
  ['ec2.amazonaws.com', 'DescribeInstances', 'ec2:DescribeInstances'],
  ['s3.amazonaws.com', 'GetObject', 's3:GetObject'],
  ['iam.amazonaws.com', 'CreateUser', 'iam:CreateUser'],
  ['kms.amazonaws.com', 'Decrypt', 'kms:Decrypt'],
  ['cloudtrail.amazonaws.com', 'StopLogging', 'cloudtrail:StopLogging'],
];

const apiError: Kind = {
  name: 'cloudtrail_api_error',
  channel: 'cloud',
  cloudType: 'cloudtrail',
  weight: 4,
  attack: false,
  summary: 'CloudTrail API call refused (AccessDenied, UnauthorizedOperation)',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const [source, name, action] = c.rng.pick(DENIED_CALLS);
    const code = source.startsWith('ec2') ? 'Client.UnauthorizedOperation' : 'AccessDenied';
    return trail(c, {
      userIdentity: iamUser(c, user),
      eventTime: `${c.t.iso.slice(0, 19)}Z`,
      eventSource: source,
      eventName: name,
      awsRegion: 'eu-west-1',
      sourceIPAddress: callerIp(c),
      userAgent: c.rng.pick(UA.slice(1)),
      errorCode: code,
      errorMessage: `User: arn:aws:iam::${c.pop.awsAccount}:user/${user} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`,
      requestParameters: null,
      responseElements: null,
      readOnly: name.startsWith('Describe') || name.startsWith('Get'),
    });
  },
};

const AZURE_OPS: readonly [string, string][] = [
  ['Microsoft.Compute/virtualMachines/write', 'virtualMachines/vm-app-01'],
  [
    'Microsoft.Network/networkSecurityGroups/securityRules/write',
    'networkSecurityGroups/nsg-web/securityRules/allow-https',
  ],
  ['Microsoft.Storage/storageAccounts/listKeys/action', 'storageAccounts/stlogs01'],
  ['Microsoft.Authorization/roleAssignments/write', 'roleAssignments/ra-01'],
  ['Microsoft.KeyVault/vaults/write', 'vaults/kv-prod'],
  ['Microsoft.Compute/virtualMachines/delete', 'virtualMachines/vm-test-07'],
];

const azureActivity: Kind = {
  name: 'azure_activity',
  channel: 'cloud',
  cloudType: 'azure_activity',
  weight: 8,
  attack: false,
  summary: 'Azure Activity Log administrative operation, Succeeded or Failed',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const upn = `${user}@${c.pop.domain}`;
    const [op, res] = c.rng.skewed(AZURE_OPS, 1.5);
    const provider = op.split('/')[0]!;
    const rg = c.rng.pick(['rg-prod', 'rg-shared', 'rg-dev']);
    const failed = c.rng.chance(0.08);
    const ip = callerIp(c);
    return JSON.stringify({
      time: c.t.iso,
      resourceId: `/SUBSCRIPTIONS/${c.pop.azureSubscription.toUpperCase()}/RESOURCEGROUPS/${rg.toUpperCase()}/PROVIDERS/${provider.toUpperCase()}/${res.toUpperCase()}`,
      operationName: op.toUpperCase(),
      category: 'Administrative',
      resultType: failed ? 'Failure' : 'Success',
      resultSignature: failed ? 'Forbidden' : 'Succeeded.',
      durationMs: String(c.rng.range(20, 4000)),
      callerIpAddress: ip,
      correlationId: c.rng.uuid(),
      identity: {
        authorization: {
          scope: `/subscriptions/${c.pop.azureSubscription}/resourceGroups/${rg}/providers/${provider}/${res}`,
          action: op,
          evidence: {
            role: 'Contributor',
            roleAssignmentScope: `/subscriptions/${c.pop.azureSubscription}`,
            principalType: 'User',
          },
        },
        claims: {
          aud: 'https://management.core.windows.net/',
          iss: `https://sts.windows.net/${c.pop.azureTenant}/`,
          'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': upn,
          name: upn,
          ipaddr: ip,
          'http://schemas.microsoft.com/identity/claims/tenantid': c.pop.azureTenant,
        },
      },
      level: failed ? 'Error' : 'Information',
      location: 'global',
      properties: {
        statusCode: failed ? 'Forbidden' : 'OK',
        serviceRequestId: c.rng.uuid(),
        eventCategory: 'Administrative',
      },
    });
  },
};

const GCP_METHODS: readonly [string, string, string][] = [
  ['compute.googleapis.com', 'v1.compute.instances.insert', 'compute.instances.create'],
  ['compute.googleapis.com', 'v1.compute.firewalls.patch', 'compute.firewalls.update'],
  ['storage.googleapis.com', 'storage.buckets.setIamPolicy', 'storage.buckets.setIamPolicy'],
  ['iam.googleapis.com', 'google.iam.admin.v1.CreateServiceAccountKey', 'iam.serviceAccountKeys.create'],
  ['cloudresourcemanager.googleapis.com', 'SetIamPolicy', 'resourcemanager.projects.setIamPolicy'],
];

const gcpAudit: Kind = {
  name: 'gcp_audit',
  channel: 'cloud',
  cloudType: 'gcp_logging',
  weight: 8,
  attack: false,
  summary: 'GCP Cloud Audit Logs admin activity entry, granted or PERMISSION_DENIED',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const [service, method, permission] = c.rng.skewed(GCP_METHODS, 1.5);
    const denied = c.rng.chance(0.08);
    const project = c.pop.gcpProject;
    const resourceName = `projects/${project}/zones/europe-west1-b/instances/vm-${c.rng.range(1, 40)}`;
    return JSON.stringify({
      insertId: c.rng.hex(12),
      logName: `projects/${project}/logs/cloudaudit.googleapis.com%2Factivity`,
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        status: denied ? { code: 7, message: 'PERMISSION_DENIED' } : {},
        authenticationInfo: { principalEmail: `${user}@${c.pop.domain}` },
        requestMetadata: {
          callerIp: callerIp(c),
          callerSuppliedUserAgent: 'google-cloud-sdk gcloud/502.0.0',
        },
        serviceName: service,
        methodName: method,
        authorizationInfo: [{ permission, granted: !denied, resource: resourceName }],
        resourceName,
      },
      resource: { type: 'gce_instance', labels: { project_id: project, zone: 'europe-west1-b' } },
      timestamp: c.t.iso,
      severity: denied ? 'ERROR' : 'NOTICE',
      receiveTimestamp: c.t.iso,
    });
  },
};

export const cloudKinds: readonly Kind[] = [consoleLogin, assumeRole, apiError, azureActivity, gcpAudit];
