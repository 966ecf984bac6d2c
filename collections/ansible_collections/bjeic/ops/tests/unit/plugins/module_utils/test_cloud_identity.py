"""module_utils.cloud_identity on files shaped as cloud-init and the kernel's DMI directory write them."""
import json

from ansible_collections.bjeic.ops.plugins.module_utils import cloud_identity as ci

# The shape cloud-init documents for /run/cloud-init/instance-data.json (OpenStack data source).
INSTANCE_DATA = {
    'base64_encoded_keys': [], 'sensitive_keys': ['merged_cfg'],
    'ds': {'meta_data': {'uuid': '0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a01', 'name': 'web01',
                         'availability_zone': 'cn-bj-gov-1a', 'instance-type': 's6.2xlarge.2'}},
    'v1': {'cloud_name': 'openstack', 'platform': 'openstack', 'subplatform': 'metadata (http://169.254.169.254)',
           'instance_id': '0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a01', 'local_hostname': 'web01',
           'region': 'RegionOne', 'availability_zone': 'cn-bj-gov-1a', 'machine': 'x86_64',
           'public_ssh_keys': ['ssh-ed25519 AAAA... ops@jump']},
}


def dmi(tmp_path, **values):
    directory = tmp_path / 'dmi'
    directory.mkdir()
    for name, value in values.items():
        (directory / name).write_text(value + '\n')
    return str(directory)


def test_cloud_init_instance_data_is_the_first_source(tmp_path):
    path = tmp_path / 'instance-data.json'
    path.write_text(json.dumps(INSTANCE_DATA))
    identity, problems = ci.read_identity(str(path), str(tmp_path / 'none'),
                                          dmi(tmp_path, sys_vendor='OpenStack Foundation', product_name='OpenStack Nova'))
    assert problems == []
    assert identity == {'instance_id': '0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a01', 'cloud_name': 'openstack',
                        'platform': 'openstack', 'subplatform': 'metadata (http://169.254.169.254)',
                        'region': 'RegionOne', 'availability_zone': 'cn-bj-gov-1a', 'local_hostname': 'web01',
                        'machine': 'x86_64', 'instance_type': 's6.2xlarge.2', 'source': 'cloud-init',
                        'vendor': 'OpenStack Foundation'}
    assert 'public_ssh_keys' not in identity   # only the listed keys are copied


def test_instance_id_file_when_the_json_is_absent(tmp_path):
    (tmp_path / 'instance-id').write_text('i-2ze0abcdef1234567\n')
    identity, _problems = ci.read_identity(str(tmp_path / 'none.json'), str(tmp_path / 'instance-id'),
                                           str(tmp_path / 'no-dmi'))
    assert identity == {'instance_id': 'i-2ze0abcdef1234567', 'source': 'cloud-init instance-id'}


def test_dmi_uuid_counts_only_on_a_cloud_vendor(tmp_path):
    cloud_dmi = dmi(tmp_path, sys_vendor='Alibaba Cloud', product_name='Alibaba Cloud ECS',
                    product_uuid='3F6C1B7E-2A4D-4C8E-B1F0-9D8E7C6B5A41', product_serial='0f6c1b7e-...')
    identity, problems = ci.read_identity(str(tmp_path / 'none.json'), str(tmp_path / 'none'), cloud_dmi)
    assert identity['instance_id'] == '3f6c1b7e-2a4d-4c8e-b1f0-9d8e7c6b5a41'
    assert (identity['platform'], identity['source'], identity['vendor']) == ('aliyun', 'dmi', 'Alibaba Cloud')
    assert problems == []


def test_a_physical_server_is_not_guessed_to_be_a_cloud_host(tmp_path):
    physical = dmi(tmp_path, sys_vendor='Inspur', product_name='NF5280M6', product_uuid='abcd')
    # 'Inspur' alone is a server maker; only its cloud product names count.
    identity, problems = ci.read_identity(str(tmp_path / 'none.json'), str(tmp_path / 'none'), physical)
    assert identity is None
    assert problems == ["DMI vendor 'Inspur', product 'NF5280M6' is not a cloud platform"]


def test_unreadable_sources_are_reported_not_guessed(tmp_path):
    (tmp_path / 'bad.json').write_text('{"v1": ')
    identity, problems = ci.read_identity(str(tmp_path / 'bad.json'), str(tmp_path / 'none'), str(tmp_path / 'no-dmi'))
    assert identity is None
    assert problems[0].startswith('%s is not valid JSON' % (tmp_path / 'bad.json'))
    assert problems[1] == 'no DMI data under %s' % (tmp_path / 'no-dmi')
    (tmp_path / 'noid.json').write_text(json.dumps({'v1': {'cloud_name': 'openstack'}}))
    _identity, problems = ci.read_identity(str(tmp_path / 'noid.json'), str(tmp_path / 'none'), str(tmp_path / 'x'))
    assert problems[0] == '%s has no v1.instance_id' % (tmp_path / 'noid.json')


def test_datasource_none_is_no_instance(tmp_path):
    (tmp_path / 'instance-id').write_text('iid-datasource-none\n')
    identity, problems = ci.read_identity(str(tmp_path / 'none.json'), str(tmp_path / 'instance-id'), str(tmp_path / 'x'))
    assert identity is None and problems == ['no DMI data under %s' % (tmp_path / 'x')]


def test_disk_serial_from_virtio_and_scsi_layouts(tmp_path):
    (tmp_path / 'vda').mkdir()
    (tmp_path / 'vda' / 'serial').write_text('7c1d2e3f-4a5b-6c7d-8\n')
    (tmp_path / 'sda' / 'device').mkdir(parents=True)
    (tmp_path / 'sda' / 'device' / 'serial').write_text('disk-9x8y7z\n')
    (tmp_path / 'sdb').mkdir()
    assert ci.disk_serial(str(tmp_path), 'vda') == '7c1d2e3f-4a5b-6c7d-8'
    assert ci.disk_serial(str(tmp_path), 'sda') == 'disk-9x8y7z'
    assert ci.disk_serial(str(tmp_path), 'sdb') is None
