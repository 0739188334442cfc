import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { may, topRole, whyNot } from './roles.js';

const viewer = { name: 'reader', roles: ['viewer' as const], models: null };
const approver = { name: 'rel', roles: ['viewer' as const, 'editor' as const, 'approver' as const], models: null };
const scoped = { ...approver, name: 'chat-rel', models: ['chat*'] };
const admin = { name: 'root', roles: ['viewer' as const, 'editor' as const, 'approver' as const, 'admin' as const], models: null };

describe('roles in the UI', () => {
  it('names the highest role a caller holds', () => {
    assert.equal(topRole(viewer), 'viewer');
    assert.equal(topRole(approver), 'approver');
    assert.equal(topRole(admin), 'admin');
  });

  it('offers approving to approvers and admins, inside a scoped token patterns only', () => {
    assert.equal(may(viewer, 'approver', 'chatbot'), false);
    assert.equal(may(viewer, 'viewer', 'chatbot'), true);
    assert.equal(may(approver, 'approver', 'chatbot'), true);
    assert.equal(may(admin, 'approver'), true);
    assert.equal(may(scoped, 'approver', 'chatbot'), true);
    assert.equal(may(scoped, 'approver', 'summarizer'), false);
    assert.equal(may(scoped, 'admin'), false);
  });

  it('says why a button is missing: the role needed, or the models a scoped token may change', () => {
    assert.equal(whyNot(approver, 'approver', 'Approving', 'chatbot'), null);
    assert.match(whyNot(viewer, 'approver', 'Approving', 'chatbot') ?? '', /needs the approver role; reader is a viewer/);
    assert.match(whyNot(scoped, 'approver', 'Approving', 'summarizer') ?? '', /outside the models chat-rel may change \(chat\*\)/);
  });
});
