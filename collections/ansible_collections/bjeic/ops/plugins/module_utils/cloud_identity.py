# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a cloud host knows about itself: instance id and placement from cloud-init, else from DMI.

Read-only, standard library only (runs on the target). cloud-init's world-readable
instance-data.json is the first source (its ``v1`` keys are the same on every platform); the
sensitive copy (instance-data-sensitive.json) is never read. Without cloud-init, the SMBIOS
system UUID is the instance id on KVM-based clouds (OpenStack nova and the Chinese public clouds
built on it write the instance UUID there), but only when the DMI vendor names a cloud platform:
on a physical server the same field is a board serial, not a cloud resource.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

INSTANCE_DATA = '/run/cloud-init/instance-data.json'
INSTANCE_ID_FILE = '/var/lib/cloud/data/instance-id'
DMI_DIR = '/sys/class/dmi/id'

# DMI sys_vendor / product_name words that mean "a virtual machine of a cloud platform". Only words a
# server maker or an on-premises hypervisor does not also write (Huawei, Inspur servers; Hyper-V's
# "Microsoft Corporation Virtual Machine") - those hosts need cloud-init to be counted.
CLOUD_VENDORS = (
    ('openstack', 'openstack'), ('alibaba cloud', 'aliyun'), ('huawei cloud', 'huaweicloud'),
    ('tencent cloud', 'tencentcloud'), ('amazon ec2', 'aws'), ('google compute engine', 'gce'),
    ('ctyun', 'ctyun'), ('easystack', 'easystack'), ('zstack', 'zstack'),
)

# v1 keys copied from instance-data.json; nothing else (the file also holds public keys and user data hints).
V1_KEYS = ('cloud_name', 'platform', 'subplatform', 'region', 'availability_zone', 'local_hostname', 'machine')


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def from_cloud_init(instance_data_path=INSTANCE_DATA, instance_id_path=INSTANCE_ID_FILE):
    """(identity or None, problem or None) from cloud-init's instance data."""
    text = _read(instance_data_path)
    if text:
        try:
            data = json.loads(text)
        except ValueError as exc:
            return None, '%s is not valid JSON (%s)' % (instance_data_path, exc)
        v1 = data.get('v1') if isinstance(data, dict) else None
        if not isinstance(v1, dict) or not v1.get('instance_id'):
            return None, '%s has no v1.instance_id' % instance_data_path
        identity = dict((key, v1.get(key)) for key in V1_KEYS if v1.get(key) not in (None, ''))
        identity['instance_id'] = str(v1['instance_id'])
        meta = (data.get('ds') or {}).get('meta_data') or {}
        flavor = meta.get('instance-type') or meta.get('instance_type') or meta.get('flavor')
        if isinstance(flavor, dict):
            flavor = flavor.get('name')
        if flavor:
            identity['instance_type'] = str(flavor)
        identity['source'] = 'cloud-init'
        return identity, None
    instance_id = _read(instance_id_path)
    if instance_id and instance_id != 'iid-datasource-none':
        return {'instance_id': instance_id, 'source': 'cloud-init instance-id'}, None
    return None, None


def from_dmi(dmi_dir=DMI_DIR):
    """(identity or None, problem or None) from the SMBIOS fields the kernel exposes."""
    vendor = _read(os.path.join(dmi_dir, 'sys_vendor'))
    product = _read(os.path.join(dmi_dir, 'product_name'))
    if vendor is None and product is None:
        return None, 'no DMI data under %s' % dmi_dir
    words = ('%s %s' % (vendor or '', product or '')).lower()
    platform = next((name for word, name in CLOUD_VENDORS if word in words), None)
    if platform is None:
        return None, 'DMI vendor %r, product %r is not a cloud platform' % (vendor, product)
    uuid = _read(os.path.join(dmi_dir, 'product_uuid'))
    if not uuid:
        return None, 'DMI names %s but product_uuid is unreadable (run with become)' % platform
    identity = {'instance_id': uuid.lower(), 'platform': platform, 'source': 'dmi'}
    serial = _read(os.path.join(dmi_dir, 'product_serial'))
    if serial:
        identity['serial'] = serial
    return identity, None


def read_identity(instance_data_path=INSTANCE_DATA, instance_id_path=INSTANCE_ID_FILE, dmi_dir=DMI_DIR):
    """(identity, problems): the first source that names an instance, and why the others did not."""
    problems = []
    for reader, args in ((from_cloud_init, (instance_data_path, instance_id_path)), (from_dmi, (dmi_dir,))):
        identity, problem = reader(*args)
        if identity:
            vendor = _read(os.path.join(dmi_dir, 'sys_vendor'))
            if vendor and 'vendor' not in identity:
                identity['vendor'] = vendor
            return identity, problems
        if problem:
            problems.append(problem)
    if not problems:
        problems.append('no cloud-init instance data (%s)' % instance_data_path)
    return None, problems


def disk_serial(sys_block_dir, name):
    """A block device's serial: virtio disks carry the cloud volume id (OpenStack: its first 20 characters)."""
    for relative in ('serial', 'device/serial', 'device/wwid'):
        value = _read(os.path.join(sys_block_dir, name, relative))
        if value:
            return value
    return None
