# SPDX-License-Identifier: Apache-2.0
# Lays out a sample node under $1: node config, grants of team acme (two datasets), public
# datasets, a team secret, and notebook nb1 whose settings.yaml mounts two team datasets, a public
# dataset and an S3 bucket. Sourced by tests and benchmarks: `make_sample_node DIR`.
make_sample_node() {
        local root=$1
        mkdir -p "$root"/{grants,secrets/acme,state,notebooks/acme/nb1/.gradient,storage/east-1/acme}
        mkdir -p "$root"/datasets/{dsr8k5qzn401lb5/v1,dsr8k5qzn401lb5/v2,dsimg7/v3,dsmnist/v1}
        cat >"$root/node.yaml" <<EOT
cluster: east-1
roots:
  notebooks: $root/notebooks
  storage: $root/storage
  datasets: $root/datasets
grants: $root/grants
secrets: $root/secrets
state: $root/state
mountd_socket: /run/nbmount-test/mountd.sock
plans:
  free: {storage: 5GB, notebook: 5GB}
  pro: {storage: 15GB, notebook: 15GB}
  growth: {storage: 50GB, notebook: 50GB}
  enterprise: {storage: unlimited, notebook: unlimited}
billing: {price_per_gb_month: 0.29, overage_cap: 1TB}
quota: {enforce: required}
s3: {allow_http: false, allow_private_endpoints: false}
EOT
        cat >"$root/grants/acme.json" <<'EOT'
{"team": "acme", "plan": "pro", "card_on_file": false, "private_workspace": false,
 "members": ["alice", "bob"], "storage_clusters": ["east-1"],
 "datasets": [{"name": "quarterly-reports", "id": "dsr8k5qzn401lb5", "versions": ["v1", "v2"], "latest": "v2"},
              {"name": "images", "id": "dsimg7", "versions": ["v3"], "latest": "v3"}]}
EOT
        echo '{"datasets": [{"name": "mnist", "id": "dsmnist", "versions": ["v1"], "latest": "v1"}]}' \
                >"$root/grants/public.json"
        printf 'not-a-real-secret\n' >"$root/secrets/acme/my-bucket-secret-key"
        chmod 600 "$root/secrets/acme/my-bucket-secret-key"
        cat >"$root/notebooks/acme/nb1/.gradient/settings.yaml" <<'EOT'
quarterly-reports:            # mounts at /datasets/quarterly-reports
  type: dataset
  id: dsr8k5qzn401lb5
  version: v1                 # optional: latest when absent
images:
  type: dataset
  id: dsimg7
mnist:
  type: dataset
  id: dsmnist
my-bucket-data:
  type: s3
  url: s3://my-bucket/my-data
  accessKeyId: AK123
  secretAccessKey: secret:my-bucket-secret-key
  region: us-west-1
  endpoint: ""
EOT
}

# make_hostkernel_node DIR: the sample node with quota.enforce off, for tests on this kernel, which
# has no project quotas; sets node, config and settings (its notebook nb1's settings.yaml).
make_hostkernel_node() {
        node=$1
        make_sample_node "$node"
        config=$node/node.yaml
        sed -i 's/^quota: .*/quota: {enforce: off}/' "$config"
        settings=$node/notebooks/acme/nb1/.gradient/settings.yaml
}
