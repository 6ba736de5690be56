package store

import (
	"context"
	"slices"

	"github.com/sesame-idp/sesame/models"
)

// CreateGroup stores a group; a taken name is ErrAlreadyExists.
func (s *Store) CreateGroup(ctx context.Context, g *models.Group) error {
	return mapErr("create group", s.conn(ctx).Create(g).Error)
}

// GetGroup loads a group by name with its members (ordered by address).
func (s *Store) GetGroup(ctx context.Context, name string) (*models.Group, error) {
	var g models.Group
	if err := s.conn(ctx).Where("name = ?", name).Take(&g).Error; err != nil {
		return nil, mapErr("get group", err)
	}
	err := s.conn(ctx).Model(&models.User{}).
		Joins("JOIN group_members ON group_members.user_id = users.id").
		Where("group_members.group_id = ?", g.ID).
		Order("users.email_normalized").Find(&g.Members).Error
	if err != nil {
		return nil, mapErr("get group members", err)
	}
	return &g, nil
}

// GroupSummary loads a group by name with its member count, without
// loading the members (one query; GroupMembers pages them).
func (s *Store) GroupSummary(ctx context.Context, name string) (*models.Group, error) {
	type row struct {
		models.Group
		N int64
	}
	var rows []row
	err := s.conn(ctx).Table("groups").
		Select("groups.*, (SELECT COUNT(*) FROM group_members WHERE group_members.group_id = groups.id) AS n").
		Where("groups.name = ?", name).Limit(1).Scan(&rows).Error
	if err != nil {
		return nil, mapErr("group summary", err)
	}
	if len(rows) == 0 {
		return nil, mapErr("group summary", models.ErrNotFound)
	}
	g := rows[0].Group
	g.MemberCount = rows[0].N
	return &g, nil
}

// GroupMembers returns at most limit members of the group with id
// groupID from offset, ordered by address (an indexed page: groups may
// be large).
func (s *Store) GroupMembers(ctx context.Context, groupID string, offset, limit int) ([]models.User, error) {
	var out []models.User
	err := s.conn(ctx).Model(&models.User{}).
		Joins("JOIN group_members ON group_members.user_id = users.id").
		Where("group_members.group_id = ?", groupID).
		Order("users.email_normalized").Offset(offset).Limit(limit).Find(&out).Error
	return out, mapErr("group members", err)
}

// ListGroups returns every group ordered by name, with its member count
// (one query).
func (s *Store) ListGroups(ctx context.Context) ([]models.Group, error) {
	type row struct {
		models.Group
		N int64
	}
	var rows []row
	err := s.conn(ctx).Table("groups").
		Select("groups.*, (SELECT COUNT(*) FROM group_members WHERE group_members.group_id = groups.id) AS n").
		Order("groups.name").Scan(&rows).Error
	if err != nil {
		return nil, mapErr("list groups", err)
	}
	out := make([]models.Group, len(rows))
	for i, r := range rows {
		out[i] = r.Group
		out[i].MemberCount = r.N
	}
	return out, nil
}

// UpdateGroupDescription replaces a group's description.
func (s *Store) UpdateGroupDescription(ctx context.Context, name, description string) error {
	res := s.conn(ctx).Model(&models.Group{}).Where("name = ?", name).
		Updates(map[string]any{"description": description, "updated_at": Now()})
	return affected("update group", res)
}

// DeleteGroup removes a group and its memberships (foreign keys). A
// client that still lists the group lets none of its former members in
// (fail closed) until an admin edits it.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	return affected("delete group", s.conn(ctx).Where("name = ?", name).Delete(&models.Group{}))
}

// AddGroupMember makes a user a member of the named group. An unknown
// group or user is ErrNotFound and nothing is written; adding a member
// again is ErrAlreadyExists.
func (s *Store) AddGroupMember(ctx context.Context, name, userID string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		var g models.Group
		if err := s.conn(ctx).Select("id").Where("name = ?", name).Take(&g).Error; err != nil {
			return mapErr("add group member: group", err)
		}
		var u models.User
		if err := s.conn(ctx).Select("id").Where("id = ?", userID).Take(&u).Error; err != nil {
			return mapErr("add group member: user", err)
		}
		m := &models.GroupMember{GroupID: g.ID, UserID: userID, CreatedAt: Now()}
		return mapErr("add group member", s.conn(ctx).Create(m).Error)
	})
}

// RemoveGroupMember ends a membership; ErrNotFound when there was none.
func (s *Store) RemoveGroupMember(ctx context.Context, name, userID string) error {
	res := s.conn(ctx).
		Where("user_id = ? AND group_id IN (SELECT id FROM groups WHERE name = ?)", userID, name).
		Delete(&models.GroupMember{})
	return affected("remove group member", res)
}

// UserGroups returns the names of the groups a user belongs to, sorted
// (one indexed query: it runs for every token that carries groups).
func (s *Store) UserGroups(ctx context.Context, userID string) ([]string, error) {
	var names []string
	err := s.conn(ctx).Table("groups").
		Joins("JOIN group_members ON group_members.group_id = groups.id").
		Where("group_members.user_id = ?", userID).
		Order("groups.name").Pluck("groups.name", &names).Error
	if err != nil {
		return nil, mapErr("user groups", err)
	}
	return names, nil
}

// MissingGroups returns those of names that name no group (nil when all
// exist), so a client or a membership naming an unknown group is refused
// before anything is written.
func (s *Store) MissingGroups(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var found []string
	if err := s.conn(ctx).Model(&models.Group{}).Where("name IN ?", names).Pluck("name", &found).Error; err != nil {
		return nil, mapErr("find groups", err)
	}
	var missing []string
	for _, n := range names {
		if !slices.Contains(found, n) {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// UserProfile is the admin-editable profile of a user.
type UserProfile struct {
	Username   *string
	GivenName  string
	FamilyName string
	Locale     string
	Picture    string
	Attributes models.JSONObject
}

// SetUserProfile replaces a user's profile fields (callers validate
// them). A username another user holds is ErrAlreadyExists and nothing is
// written.
func (s *Store) SetUserProfile(ctx context.Context, id string, p UserProfile) error {
	attrs := p.Attributes
	if attrs == nil {
		attrs = models.JSONObject{}
	}
	res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).Updates(map[string]any{
		"username": p.Username, "given_name": p.GivenName, "family_name": p.FamilyName,
		"locale": p.Locale, "picture": p.Picture, "attributes": attrs, "updated_at": Now(),
	})
	return affected("set user profile", res)
}
