"""JUnit XML for CI: one testcase per host x task of a run, from the store."""
import xml.etree.ElementTree as ET


def write(path, run, results):
    suite = ET.Element('testsuite', name='bjeic-ops run %d %s' % (run['id'], run['playbook']))
    counts = {'tests': 0, 'failures': 0, 'errors': 0, 'skipped': 0}
    for result in results:
        counts['tests'] += 1
        case = ET.SubElement(suite, 'testcase', classname=result['host'], name=result['task'] or result['module'] or '?',
                             time='%.3f' % ((result['duration'] or 0) / 1000.0))
        if result['status'] == 'failed':
            counts['failures'] += 1
            ET.SubElement(case, 'failure', message=(result['msg'] or 'failed')[:2000])
        elif result['status'] == 'unreachable':
            counts['errors'] += 1
            ET.SubElement(case, 'error', message=(result['msg'] or 'unreachable')[:2000])
        elif result['status'] == 'skipped':
            counts['skipped'] += 1
            ET.SubElement(case, 'skipped')
    for key, value in counts.items():
        suite.set(key, str(value))
    ET.ElementTree(suite).write(path, encoding='utf-8', xml_declaration=True)
